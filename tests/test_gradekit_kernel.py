"""gradekit.nbgrader.kernel: the hidden part of a source test cell grades it in the instructor's
kernel."""

from __future__ import annotations

import textwrap

import pytest

from gradekit.core.notebook import definition_cells, read_notebook
from gradekit.nbgrader.kernel import grade_cell
from synthetic.banks import NB1, SOURCE


@pytest.fixture
def kernel_namespace(monkeypatch) -> dict:
    """What the instructor's kernel holds after running notebook 1's definitions."""
    monkeypatch.chdir(SOURCE)
    monkeypatch.syspath_prepend(str(SOURCE))  # a kernel imports from its notebook's folder
    notebook = read_notebook(SOURCE / f"{NB1}.ipynb")
    namespace: dict = {"__name__": "__main__"}
    for cell in definition_cells(notebook):
        exec(compile(cell.source, cell.key, "exec"), namespace)
    return namespace


def test_source_cell_gets_full_points_as_a_plain_float(kernel_namespace, capsys):
    points = grade_cell("activations", namespace=kernel_namespace)
    assert type(points) is float and points == 3.0
    assert "Graded outside your notebook" in capsys.readouterr().out


def test_a_bug_in_the_kernel_costs_points(kernel_namespace, capsys):
    exec(textwrap.dedent("def relu(x):\n    return x\n"), kernel_namespace)
    assert grade_cell("activations", namespace=kernel_namespace) < 4.0
    assert "relu(x) compared with" in capsys.readouterr().out
