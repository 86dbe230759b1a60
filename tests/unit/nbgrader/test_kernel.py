"""gradekit.nbgrader.kernel: the hidden part of a source test cell grades it in the instructor's
kernel."""

from __future__ import annotations

import textwrap

import pytest

from gradekit.core.notebook import definition_cells, read_notebook
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.kernel import grade_cell
from tests.unit.fixtures import ASSIGNMENT, NOTEBOOK


@pytest.fixture
def kernel_namespace(monkeypatch, tiny_course: Course) -> dict:
    """What the instructor's kernel holds after running the tiny course's definitions."""
    source = tiny_course.root / "source" / ASSIGNMENT
    monkeypatch.chdir(source)
    monkeypatch.syspath_prepend(str(source))  # a kernel imports from its notebook's folder
    notebook = read_notebook(source / f"{NOTEBOOK}.ipynb")
    namespace: dict = {"__name__": "__main__"}
    for cell in definition_cells(notebook):
        exec(compile(cell.source, cell.key, "exec"), namespace)
    return namespace


def test_source_cell_gets_full_points_as_a_plain_float(kernel_namespace, capsys):
    points = grade_cell("l2_norm", namespace=kernel_namespace)
    assert type(points) is float and points == 2.0
    assert "Graded outside your notebook" in capsys.readouterr().out


def test_a_bug_in_the_kernel_costs_points(kernel_namespace, capsys):
    exec(textwrap.dedent("def l2_norm(x):\n    return float(np.sum(x**2))\n"), kernel_namespace)
    assert grade_cell("l2_norm", namespace=kernel_namespace) < 2.0
    output = capsys.readouterr().out
    assert "l2_norm(x) compared with" in output
    assert "the square root is missing" in output
