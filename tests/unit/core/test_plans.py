"""gradekit.core.plans: a student process never holds the reference answers of a cell it grades."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gradekit.core.plans import Assignment, CellRule, PlanError, ReferenceIndex, plan_processes

#: A tiny reference package: activations, their derivatives (importing the activations), a loss
#: and an answers module that is never shipped.
MODULES = {
    "acts": "def relu(x):\n    return max(x, 0)\n",
    "derivs": "from .acts import relu\n\ndef relu_derivative(x):\n    return float(x > 0)\n",
    "loss": "SCALE = 2\n\ndef mse(a, b):\n    return (a - b) ** 2\n",
    "answers": "ANSWERS = {'relu(2)': 2}\n",
}
ANSWERS = {"acts": ("activations",), "derivs": ("derivatives",), "loss": ("loss",)}


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    folder = tmp_path / "refpkg"
    folder.mkdir()
    for name, source in MODULES.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    (folder / "__init__.py").write_text("from .acts import *\n")
    return folder


def assignment(reference: Path, **cells: CellRule) -> Assignment:
    return Assignment(cells=cells, reference=reference, answers=ANSWERS)


def test_index_finds_definitions_and_relative_imports(reference):
    index = ReferenceIndex(reference)
    assert index.defined_in["relu_derivative"] == "derivs"
    assert index.defined_in["SCALE"] == "loss"
    assert index.modules_for(["relu_derivative"]) == {"derivs", "acts"}


def test_a_cell_and_the_module_answering_it_never_share_a_process(reference):
    plans = plan_processes(
        ["activations", "derivatives"],
        assignment(
            reference,
            activations=CellRule(grades=("relu",)),
            derivatives=CellRule(grades=("relu_derivative",), replaces=("relu",)),
        ),
    )
    assert [plan.cells for plan in plans] == [("activations",), ("derivatives",)]
    assert plans[1].modules == ("acts",)


def test_cells_that_do_not_conflict_share_one_process(reference):
    plans = plan_processes(
        ["activations", "loss", "quiz"],
        assignment(
            reference,
            activations=CellRule(grades=("relu",)),
            loss=CellRule(grades=("mse",)),
            quiz=CellRule(grades=("ANSWERS",)),
        ),
    )
    assert [plan.cells for plan in plans] == [("activations", "loss", "quiz")]
    assert plans[0].modules == ()


def test_names_of_earlier_notebooks_are_provided_before_loading(reference):
    plans = plan_processes(
        ["derivatives"],
        assignment(reference, derivatives=CellRule(grades=("d",), replaces=("relu",))),
    )
    assert plans[0].provided == ("relu",)


def test_a_name_the_notebook_grades_itself_is_not_provided(reference):
    plans = plan_processes(
        ["loss", "derivatives"],
        assignment(
            reference,
            loss=CellRule(grades=("relu",)),
            derivatives=CellRule(grades=("relu_derivative",), replaces=("relu",)),
        ),
    )
    assert all(plan.provided == () for plan in plans)


def test_cells_without_different_packages_get_different_processes(reference):
    plans = plan_processes(
        ["numpy_item", "torch_item"],
        assignment(
            reference,
            numpy_item=CellRule(grades=("f",), without=("torch",)),
            torch_item=CellRule(grades=("g",)),
        ),
    )
    assert [(plan.cells, plan.without) for plan in plans] == [
        (("numpy_item",), ("torch",)),
        (("torch_item",), ()),
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        pytest.param(CellRule(reference=("ANSWERS",)), "does not declare", id="undeclared-module"),
        pytest.param(CellRule(reference=("relu",)), "computes its own answers", id="own-answers"),
        pytest.param(CellRule(reference=("nothing",)), "defines no name", id="unknown-name"),
    ],
)
def test_a_declaration_that_cannot_be_honoured_is_refused(reference, rule, message):
    with pytest.raises(PlanError, match=message):
        plan_processes(["activations"], assignment(reference, activations=rule))


def test_the_shipped_package_holds_only_the_planned_modules(reference):
    declared = assignment(
        reference, derivatives=CellRule(grades=("relu_derivative",), replaces=("relu",))
    )
    package = plan_processes(["derivatives"], declared)[0].package(declared)
    assert package is not None
    assert sorted(package.modules) == ["__init__", "acts"]
    assert package.modules["__init__"] == "from .acts import *\n"
