"""gradekit.core.notebook: reading untrusted notebooks and keeping only definitions."""

from __future__ import annotations

import json

import pytest

from gradekit.core.notebook import (
    NotebookError,
    definition_cells,
    filter_definitions,
    notebook_from_dict,
    read_notebook,
)


def kept_lines(source: str, needed: tuple[str, ...] | None = None) -> list[str]:
    return [
        line
        for line in filter_definitions(source, key="c", needed=needed).source.splitlines()
        if line.strip() not in ("", "pass")
    ]


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        pytest.param("import numpy as np", ["import numpy as np"], id="import"),
        pytest.param("def f(x):\n    return x", ["def f(x):", "    return x"], id="function"),
        pytest.param("class A:\n    pass", ["class A:"], id="class"),
        pytest.param("ALPHA = 0.01", [], id="constant-nothing-uses"),
        pytest.param(
            "import numpy as np\nS = np.sqrt(2)\ndef f(x):\n    return S * x",
            ["import numpy as np", "S = np.sqrt(2)", "def f(x):", "    return S * x"],
            id="constant-a-function-uses",
        ),
        pytest.param("act = lambda x: x", [], id="lambda-nothing-uses"),
        pytest.param("model = Net()\nmodel.fit(X, y)", [], id="work"),
        pytest.param("for i in range(3):\n    print(i)", [], id="loop"),
        pytest.param("while True:\n    pass", [], id="infinite-loop"),
        pytest.param("print('hi')", [], id="print"),
        pytest.param(
            "from helpers import load\nX = load()",
            ["from helpers import load"],
            id="from-import-call",
        ),
        pytest.param("np.tanh = lambda x: 0", [], id="attribute-assignment"),
    ],
)
def test_filter_keeps_only_definitions(source, kept):
    assert kept_lines(source) == kept


#: Statements of correct notebooks that the graded name ``f`` needs: each is kept.
NEEDED = {
    "constant-from-a-module": "EPS = np.finfo(float).eps",
    "builtin-call": "SCALE = round(np.tanh(1.0), 4)",
    "dict-of-functions": "ACTIVATIONS = dict(relu=relu, tanh=tanh)",
    "random-generator": "_rng = np.random.default_rng(0)",
    "from-import-call": "K = exp(1.0)",
    "instance-of-a-class": "HELPER = Helper(3)",
    "call-of-a-function": "TABLE = make_table()",
    "item-assignment": "ACTIVATIONS['gelu'] = relu",
    "method-call": "ACTIVATIONS.update(sigmoid=relu)",
    "loop-filling-a-table": "for name in ('a', 'b'):\n    ACTIVATIONS[name] = relu",
    "alias-then-change": "acts = ACTIVATIONS\nacts['elu'] = relu",
}


@pytest.mark.parametrize("statement", list(NEEDED.values()), ids=list(NEEDED))
def test_what_a_graded_name_needs_is_kept_wherever_it_is(statement):
    cells = [
        "import numpy as np\nfrom numpy import exp",
        "def relu(x):\n    return x\ntanh = relu\nclass Helper:\n    def __init__(self, n):\n"
        "        self.n = n\ndef make_table():\n    return {}\nACTIVATIONS = {}",
        statement,
        "print('trained')\nresult = train()",
        "def f(x):\n    return (EPS, SCALE, ACTIVATIONS, _rng, K, HELPER, TABLE, acts)",
    ]
    nb = notebook_from_dict(
        {"cells": [{"cell_type": "code", "source": c, "metadata": {}} for c in cells]}, name="nb"
    )
    kept = definition_cells(nb, needed=("f",))
    assert kept[2].source.strip() == statement, "the statement is kept whole, in its own cell"
    assert kept[3].source.split() == ["pass", "pass"], "work nothing graded uses is skipped"
    assert [s.names for s in kept[3].skipped] == [("result",)]


def test_work_that_nothing_graded_uses_is_skipped_even_if_a_helper_is_used():
    source = (
        "_rng = np.random.default_rng(0)\n"
        "class Net:\n    def __init__(self):\n        self.W = _rng.normal(size=2)\n"
        "net = Net()\nfor epoch in range(10**9):\n    net.fit()\nlosses = net.fit()"
    )
    assert kept_lines(source, needed=("Net",)) == [
        "_rng = np.random.default_rng(0)",
        "class Net:",
        "    def __init__(self):",
        "        self.W = _rng.normal(size=2)",
    ]


def test_filter_keeps_line_numbers():
    source = "train()\n\ndef f(x):\n    return x\n"
    assert filter_definitions(source, key="c").source.splitlines()[2] == "def f(x):"


def test_filter_handles_statements_sharing_a_line():
    assert kept_lines("a = 1; train()", needed=("a",)) == ["a = 1"]


def test_filter_keeps_definitions_inside_try():
    source = (
        "try:\n    from scipy.special import expit\n    print('ok')\n"
        "except ImportError:\n    expit = None"
    )
    assert "from scipy.special import expit" in filter_definitions(source, key="c").source
    assert "print" not in filter_definitions(source, key="c").source


def test_filter_replaces_magics():
    result = filter_definitions("%matplotlib inline\n!ls\ndef f():\n    return 1", key="c")
    compile(result.source, "c", "exec")
    assert "def f" in result.source


def test_filter_drops_cell_magics():
    assert filter_definitions("%%time\nx = 1", key="c").source == ""


def test_filter_reports_syntax_errors():
    result = filter_definitions("def f(:\n    pass", key="cell 3")
    assert result.source == "" and "line 1" in result.syntax_error


@pytest.mark.parametrize(
    "source",
    ["x = " + "+".join(["a"] * 20000), "a = 1; x = " + "+".join(["a"] * 1500) + "; train()"],
    ids=["too-deep-to-parse", "too-deep-to-rewrite"],
)
def test_filter_reports_code_nested_too_deeply(source):
    result = filter_definitions(source, key="cell 3", needed=("x",))
    assert result.source == "" and "nested too deeply" in result.syntax_error


def test_definition_cells_skip_test_cells():
    nb = notebook_from_dict(
        {
            "cells": [
                {"cell_type": "code", "source": "def f():\n    return 1", "metadata": {}},
                {"cell_type": "markdown", "source": "text", "metadata": {}},
                {
                    "cell_type": "code",
                    "source": ["assert f() == 1\n"],
                    "metadata": {
                        "nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}
                    },
                },
            ]
        },
        name="nb",
    )
    assert [cell.key for cell in definition_cells(nb)] == ["cell 1"]
    assert nb.autograded_ids == ["t"]


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps([1, 2]), json.dumps({"cells": "nope"})],
    ids=["not-json", "a-list", "cells-not-a-list"],
)
def test_unreadable_notebooks_raise_a_clear_error(tmp_path, content):
    path = tmp_path / "broken.ipynb"
    path.write_text(content)
    with pytest.raises(NotebookError, match="broken"):
        read_notebook(path)


def test_locked_cells_follow_the_same_rule():
    source = (
        "import numpy as np\nresults = {'a': runs['b']}\nX = np.zeros(2)\ndef f():\n    return X"
    )
    kept = filter_definitions(source, key="c", needed=("f",)).source
    assert "results" not in kept and "X = np.zeros(2)" in kept and "import numpy" in kept
