"""The one loading rule: grading and the notebooks' ``import_definitions`` agree.

``gradekit/core/loading_rule.py`` decides what a notebook defines; the assignment ships a copy next
to its notebooks (students have no ``gradekit``), which ``mlp_helpers.import_definitions`` uses.
The copy must be the same file, and both paths must load the same values on a table of the
module-level code correct students write. (The rule's cost in time:
``tests/unit/core/test_loading_rule.py``.)
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradekit.core import loading_rule
from gradekit.core.notebook import definition_cells, notebook_from_dict

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "source" / "mlp_from_scratch" / "loading_rule.py"


def test_the_shipped_copy_is_the_engines_rule():
    assert SHIPPED.read_bytes() == Path(loading_rule.__file__).read_bytes()
    released = ROOT / "release" / "mlp_from_scratch" / "loading_rule.py"
    assert released.read_bytes() == SHIPPED.read_bytes(), "run gradekit release"


#: name -> (cells, the names asked for, their expected values)
CASES: dict[str, tuple[list[str], list[str], dict[str, Any]]] = {
    "constant-from-numpy-imported-in-an-earlier-cell": (
        ["import numpy as np", "EPS = np.finfo(float).eps\ndef f():\n    return EPS"],
        ["f"],
        {"f": float(np.finfo(float).eps)},
    ),
    "by-hand-with-round-and-numpy": (
        ["import numpy as np", 'by_hand = {"tanh(1)": round(np.tanh(1.0), 4)}\nprint(by_hand)'],
        ["by_hand"],
        {"by_hand": {"tanh(1)": 0.7616}},
    ),
    "dict-of-functions": (
        [
            "def relu(x):\n    return max(0, x)",
            "ACTS = dict(relu=relu)\ndef f():\n    return ACTS['relu'](-1)",
        ],
        ["f"],
        {"f": 0},
    ),
    "random-generator": (
        [
            "import numpy as np",
            "_rng = np.random.default_rng(0)\ndef f():\n    return type(_rng).__name__",
        ],
        ["f"],
        {"f": "Generator"},
    ),
    "from-import-then-call": (
        ["from math import exp", "K = exp(0.0)\ndef f():\n    return K"],
        ["f"],
        {"f": 1.0},
    ),
    "instance-of-a-helper-class": (
        ["class Helper:\n    n = 3", "HELPER = Helper()\ndef f():\n    return HELPER.n"],
        ["f"],
        {"f": 3},
    ),
    "subclass-in-a-later-cell": (
        [
            "class Net:\n    def name(self):\n        return 'net'",
            "class Net(Net):\n    pass\nnet = Net()\nnet.fit()",
        ],
        ["Net"],
        {"Net": "net"},
    ),
    "table-filled-by-a-loop": (
        [
            "TABLE = {}\nfor k in ('a', 'b'):\n    TABLE[k] = k * 2",
            "def f():\n    return TABLE['b']",
        ],
        ["f"],
        {"f": "bb"},
    ),
    "work-nothing-asked-for-uses-is-skipped": (
        ["def f():\n    return 1", "result = f() + undefined_name\nwhile True:\n    pass"],
        ["f"],
        {"f": 1},
    ),
    "empty-and-comment-only-cells": (
        ["def f():\n    return 1", "", "# a note, no code\n"],
        ["f"],
        {"f": 1},
    ),
}


def value(name: str, found: Any) -> Any:
    """What a loaded name stands for in the table: a function's result, a class's name()."""
    if isinstance(found, type):
        return found().name()
    return found() if callable(found) else found


def graded_values(cells: list[str], names: list[str]) -> dict[str, Any]:
    nb = notebook_from_dict(
        {"cells": [{"cell_type": "code", "source": c, "metadata": {}} for c in cells]}, name="nb"
    )
    namespace: dict[str, Any] = {}
    for cell in definition_cells(nb, names):
        exec(compile(cell.source, cell.key, "exec"), namespace)
    return {name: value(name, namespace[name]) for name in names}


@pytest.fixture(scope="module")
def helpers() -> Any:
    spec = importlib.util.spec_from_file_location(
        "mlp_helpers", SHIPPED.with_name("mlp_helpers.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", list(CASES))
def test_grading_and_import_definitions_load_the_same(case: str, helpers: Any, tmp_path: Path):
    cells, names, expected = CASES[case]
    path = tmp_path / "nb.ipynb"
    path.write_text(
        json.dumps(
            {
                "cells": [
                    {"cell_type": "code", "source": c, "metadata": {}, "outputs": []} for c in cells
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        ),
        encoding="utf-8",
    )
    namespace: dict[str, Any] = {}
    assert helpers.import_definitions(str(path), namespace, names) == names
    loaded = {name: value(name, namespace[name]) for name in names}
    assert loaded == expected
    assert graded_values(cells, names) == expected
