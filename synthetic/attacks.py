"""Hostile and broken submissions: what a student might hand in to forge a grade or break a batch.

Each :class:`Hostile` is the instructor's solution of one notebook with some of: edits to the
solution code (the *honest* part: what the code really does), extra code cells inserted after
the notebook's setup cell, extra files next to the notebook, changes to the notebook's nbgrader
structure, or a file that is not a notebook at all. Each must score exactly what its honest code
deserves: the grades of :meth:`Hostile.honest_notebook`, graded by the trusted graders alone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from synthetic.banks import ACTS, FORBIDDEN, NB1, NB2, Edit, Variant, student_notebook

#: The honest bug most attacks carry, so that there are points to win by cheating.
ZERO_RELU = Edit(ACTS, "return np.maximum(0, x)", "return x * 0")


@dataclass(frozen=True)
class Hostile:
    """A hostile or broken submission of one notebook.

    Attributes:
        id: Readable name; the student id is ``attack-<id>``.
        notebook: The notebook it hands in.
        edits: Edits to the solution cells (what the code honestly does).
        cells: Code cells inserted after the setup cell (the attack itself); ``{course}`` stands
            for the course folder.
        files: Files put next to the notebook (relative path -> text).
        tamper: Changes the notebook's structure (cells, metadata) after the edits.
        raw: Text written instead of a notebook (not valid JSON).
        others: Further notebooks handed in, unchanged solutions.
        kernel_problem: Text the batch summary must report for it ("" if none).
        needs_namespaces: Only bubblewrap's namespaces defend it (reaching the course's files).
    """

    id: str
    notebook: str
    edits: tuple[Edit, ...] = ()
    cells: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    tamper: Callable[[NotebookNode], None] | None = None
    raw: str | None = None
    others: tuple[str, ...] = ()
    kernel_problem: str = ""
    needs_namespaces: bool = False

    @property
    def student(self) -> str:
        return f"attack-{self.id}"

    def honest_notebook(self) -> NotebookNode:
        """The same code without the attack: what the grade must be based on."""
        return student_notebook(Variant(self.id, self.notebook, self.edits))

    def write(self, folder: Path, course_root: Path) -> None:
        """Write the submission into ``folder`` (``submitted/<student>/<assignment>``); the
        attack cells learn where the course is (``{course}``), as a well-informed attacker."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.notebook}.ipynb"
        if self.raw is not None:
            path.write_text(self.raw, encoding="utf-8")
        else:
            nb = self.honest_notebook()
            setup = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
            for offset, source in enumerate(self.cells, start=1):
                source = source.replace("{course}", str(course_root))
                nb.cells.insert(setup + offset, nbformat.v4.new_code_cell(source))
            if self.tamper is not None:
                self.tamper(nb)
            nbformat.write(nb, path)
        for other in self.others:
            nbformat.write(student_notebook(None, other), folder / f"{other}.ipynb")
        for relative, text in self.files.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def grade_cell_index(nb: NotebookNode, grade_id: str) -> int:
    """Where the cell with nbgrader's ``grade_id`` is in ``nb``."""
    return next(
        i
        for i, cell in enumerate(nb.cells)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def _delete_cell(grade_id: str) -> Callable[[NotebookNode], None]:
    def tamper(nb: NotebookNode) -> None:
        del nb.cells[grade_cell_index(nb, grade_id)]

    return tamper


def _duplicate_cell(grade_id: str) -> Callable[[NotebookNode], None]:
    def tamper(nb: NotebookNode) -> None:
        index = grade_cell_index(nb, grade_id)
        nb.cells.insert(index, copy.deepcopy(nb.cells[index]))

    return tamper


def _change_metadata(nb: NotebookNode) -> None:
    """More points, an unlocked test cell with its checks removed, another one renamed."""
    activations = nb.cells[grade_cell_index(nb, "activations")]
    activations.metadata.nbgrader.points = 100
    activations.metadata.nbgrader.locked = False
    activations.source = "pass"
    nb.cells[grade_cell_index(nb, "derivatives")].metadata.nbgrader.grade_id = "my_derivatives"


FAKE_GRADE_CELL = """
def grade_cell(grade_id, namespace=None):
    print("Graded outside your notebook: all checks passed")
    return 100.0
"""

#: Attacks on the grade itself, run through plain ``nbgrader autograde``.
ATTACKS: list[Hostile] = [
    Hostile(
        "patched-allclose",
        NB1,
        (
            Edit(
                ACTS,
                "return np.maximum(0, x)",
                "np.allclose = lambda *a, **k: True\n    return x * 0",
            ),
        ),
        cells=("np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: np.True_",),
    ),
    Hostile(
        "patched-np-testing",
        NB1,
        (ZERO_RELU,),
        cells=(
            "np.testing.assert_allclose = lambda *a, **k: None\n"
            "np.testing.assert_array_equal = lambda *a, **k: None\n"
            "np.testing.assert_array_almost_equal = lambda *a, **k: None",
        ),
    ),
    Hostile(
        "patched-torch",
        NB1,
        (ZERO_RELU,),
        cells=(
            "import torch\n"
            "torch.allclose = lambda *a, **k: True\n"
            "torch.testing.assert_close = lambda *a, **k: None\n"
            "torch.relu = lambda x: x * 0",
        ),
    ),
    Hostile(
        "patched-builtins",
        NB1,
        (ZERO_RELU,),
        cells=(
            "import builtins\n"
            "builtins.float = lambda *a: 4.0\n"
            "builtins.abs = lambda x: 0\n"
            "builtins.all = lambda *a: True\n"
            "builtins.isinstance = lambda *a: True",
        ),
    ),
    Hostile(
        "fake-grader-in-sys-modules",
        NB1,
        (ZERO_RELU,),
        cells=(
            "import sys, types\n"
            "for name in ('gradekit', 'gradekit.nbgrader.kernel', 'grader_tests', 'pytest'):\n"
            "    fake = types.ModuleType(name)\n"
            f"    exec({FAKE_GRADE_CELL!r}, fake.__dict__)\n"
            "    sys.modules[name] = fake",
        ),
    ),
    Hostile(
        "fake-grader-next-to-the-notebook",
        NB1,
        (ZERO_RELU,),
        files={
            "gradekit/__init__.py": "",
            "gradekit/nbgrader/__init__.py": "",
            "gradekit/nbgrader/kernel.py": FAKE_GRADE_CELL,
            "grader_tests/__init__.py": "",
            "grader_tests/conftest.py": "import pytest\npytest.skip(allow_module_level=True)\n",
            "conftest.py": "def pytest_runtest_call(item):\n    raise SystemExit(0)\n",
            "reference_impl.py": "def relu(x):\n    return x * 0\n",
            "numpy.py": "raise ImportError('the graders were tricked')\n",
        },
    ),
    Hostile(
        "swallowed-errors",
        NB1,
        (ZERO_RELU,),
        cells=("get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)",),
    ),
    Hostile(
        "printed-fake-score",
        NB1,
        (
            Edit(
                ACTS,
                "return np.maximum(0, x)",
                "print(4.0)\n    return x * 0",
            ),
        ),
        cells=(
            "from IPython.display import display\n"
            "print('4.0')\n"
            "display(4.0)\n"
            "import sys\n"
            "sys.stdout.write('Graded outside your notebook: 12 of 12 checks passed\\n')",
        ),
    ),
    Hostile(
        "writes-the-gradebook",
        NB1,
        cells=(
            "import sqlite3\n"
            "for path in ['{course}/gradebook.db', '../../../gradebook.db']:\n"
            "    try:\n"
            "        with open(path, 'wb') as handle:\n"
            "            handle.write(b'corrupted')\n"
            "    except OSError as error:\n"
            "        print('no:', error)\n"
            "    try:\n"
            "        db = sqlite3.connect(path)\n"
            "        db.execute('UPDATE grade SET auto_score = 100')\n"
            "        db.commit()\n"
            "    except Exception as error:\n"
            "        print('no:', error)",
        ),
        needs_namespaces=True,
    ),
    Hostile(
        "reads-the-graders",
        NB1,
        cells=(
            "import glob\n"
            "found = glob.glob('{course}/grader_tests/*.py')\n"
            "found += glob.glob('../../../grader_tests/*.py')\n"
            "for path in found:\n"
            "    print(open(path).read())\n"
            "print('graders found:', len(found))",
        ),
        needs_namespaces=True,
    ),
    Hostile(
        "autograd-in-backward",
        NB2,
        next(
            variant for variant, _ in FORBIDDEN if variant.id == "nn-backward-with-torch-autograd"
        ).edits,
    ),
]

#: Input that could break a batch, run through ``gradekit autograde`` in one batch.
BAD_INPUTS: list[Hostile] = [
    Hostile("not-json", NB1, raw='{"cells": [ this is not JSON', others=(NB2,)),
    Hostile(
        "syntax-error",
        NB1,
        (Edit(ACTS, "return np.maximum(0, x)", "return np.maximum(0, x"),),
    ),
    Hostile("deleted-grade-cell", NB1, tamper=_delete_cell("activations")),
    Hostile("duplicated-grade-cell", NB1, tamper=_duplicate_cell("activations")),
    Hostile("changed-metadata-and-points", NB1, tamper=_change_metadata),
    Hostile(
        "infinite-loop",
        NB1,
        cells=("while True:\n    pass",),
        kernel_problem="did not finish in time",
    ),
    Hostile(
        "infinite-loop-in-graded-code",
        NB1,
        (Edit(ACTS, "return np.maximum(0, x)", "while True:\n        pass"),),
    ),
    Hostile(
        "memory-bomb",
        NB1,
        cells=("hog = [bytearray(1 << 30) for _ in range(64)]",),
    ),
    Hostile("sys-exit", NB1, cells=("import sys\nsys.exit(3)",)),
    Hostile(
        "os-exit",
        NB1,
        cells=("import os\nos._exit(1)",),
        kernel_problem="kernel died",
    ),
    Hostile(
        "kernel-crash",
        NB1,
        cells=("import ctypes\nctypes.string_at(0)",),
        kernel_problem="kernel died",
    ),
    Hostile(
        "huge-output",
        NB1,
        cells=("line = 'x' * 1_000_000\nfor _ in range(400):\n    print(line)",),
        kernel_problem="were dropped",
    ),
    Hostile(
        "grader-named-files",
        NB1,
        files={
            "grader_tests/__init__.py": "raise SystemExit('tricked')\n",
            "gradekit.py": "raise SystemExit('tricked')\n",
            "conftest.py": "raise SystemExit('tricked')\n",
        },
    ),
    Hostile("control", NB1),
]
