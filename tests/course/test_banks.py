"""The graders against the banks of buggy and of alternative-but-correct submissions.

The instructor's notebooks get full marks; every bug of ``banks.BUGS`` loses points in the grade
cell of the buggy item and nowhere else (except the declared, unavoidable dependencies); every
submission of ``banks.ALTERNATIVES`` gets full marks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gradekit.checks.grading import SuiteSessions, grade_notebook
from gradekit.checks.pytest_plugin import support_files
from gradekit.core.notebook import as_nbformat, notebook_from_dict
from gradekit.core.scoring import NotebookResult
from gradekit.nbgrader.course import Course
from synthetic.banks import (
    ALTERNATIVES,
    BUGS,
    FORBIDDEN,
    NB1,
    NB2,
    NB3,
    SOURCE,
    Variant,
    release_notebook,
    student_notebook,
)

SUITE = Path(__file__).resolve().parents[2] / "grader_tests"
#: The course's own limits (nbgrader_config.py), so the bank is graded as submissions are.
LIMITS = Course.find(SUITE.parent).settings.limits()
NOTEBOOKS = [name for name in (NB1, NB2, NB3) if (SOURCE / f"{name}.ipynb").exists()]

pytestmark = [pytest.mark.slow, pytest.mark.bank]


def grade(
    sessions: SuiteSessions,
    variant: Variant | None,
    notebook: str | None = None,
    *,
    untouched: bool = False,
) -> NotebookResult:
    name = variant.notebook if variant else notebook
    node = release_notebook(name) if untouched else student_notebook(variant, notebook)
    return grade_notebook(
        notebook=notebook_from_dict(as_nbformat(node), name=name),
        suite=SUITE,
        support_files=support_files(SOURCE),
        limits=LIMITS,
        sessions=sessions,
    )


def failures(result: NotebookResult) -> str:
    return "; ".join(
        f"{item.item}: {check.name}: {check.message}"
        for item in result.items.values()
        for check in item.checks
        if not check.passed
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_instructor_solution_gets_full_marks(notebook, suite_sessions):
    result = grade(suite_sessions, None, notebook)
    assert result.points == result.max_points, failures(result)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_untouched_release_gets_zero(notebook, suite_sessions):
    result = grade(suite_sessions, None, notebook, untouched=True)
    passing = [
        f"{i.item}: {c.name}"
        for i in result.items.values()
        for c in i.checks
        if c.passed and c.weight
    ]
    assert not passing, f"checks that pass on the empty stubs: {passing}"


def available(variants: list[Variant]) -> list[Variant]:
    return [variant for variant in variants if variant.notebook in NOTEBOOKS]


@pytest.mark.parametrize("variant", available(BUGS), ids=lambda variant: variant.id)
def test_bug_costs_points_only_where_it_is(variant, suite_sessions):
    result = grade(suite_sessions, variant)
    item = result.items[variant.item]
    assert item.points < item.max_points, f"{variant.id} was not caught by {variant.item}"
    message = next(check.message for check in item.checks if not check.passed)
    assert len(message) > 20, f"the failing check of {variant.id} explains too little: {message!r}"
    charged = {other.item for other in result.items.values() if other.points < other.max_points}
    unexpected = charged - {variant.item, *variant.also}
    assert not unexpected, (
        f"{variant.id} also cost points in {sorted(unexpected)}: {failures(result)}"
    )


@pytest.mark.parametrize("variant", available(ALTERNATIVES), ids=lambda variant: variant.id)
def test_alternative_gets_full_marks(variant, suite_sessions):
    result = grade(suite_sessions, variant)
    assert result.points == result.max_points, failures(result)


@pytest.mark.parametrize(
    ("variant", "cells"),
    [pytest.param(v, c, id=v.id) for v, c in FORBIDDEN if v.notebook in NOTEBOOKS],
)
def test_forbidden_shortcut_gets_no_credit(variant, cells, suite_sessions):
    result = grade(suite_sessions, variant)
    for cell in cells:
        item = result.items[cell]
        assert item.points == 0 and item.forbidden, f"{variant.id}: {cell} got {item.points}"
        assert "No credit for this cell" in item.feedback()
    others = [i for i in result.items.values() if i.item not in cells and i.points < i.max_points]
    assert not others, f"{variant.id} also cost points in {[i.item for i in others]}"


def test_banks_are_large_enough():
    assert len(BUGS) >= 30
    assert len(ALTERNATIVES) >= 10
    assert len({variant.id for variant in BUGS + ALTERNATIVES}) == len(BUGS) + len(ALTERNATIVES)
