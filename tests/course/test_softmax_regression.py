"""The second assignment (softmax regression) graded end to end by the same engine: through
``gradekit autograde`` (two jobs) and through plain ``nbgrader autograde``, a correct submission
gets every point and each bug loses points in its own cell, with a message that names it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from gradekit.batch.dask_run import autograde_class
from gradekit.nbgrader.course import Course
from synthetic.courses import ROOT, autograde_with_nbgrader, copy_course, grades

pytestmark = pytest.mark.slow

ASSIGNMENT = "softmax_regression"
NOTEBOOK = "softmax_regression.ipynb"
FULL = {"softmax": (4.0, 4.0), "gradients": (6.0, 6.0)}

#: student -> (solution cell, text replaced, replacement): one bug each, or none.
SUBMISSIONS: dict[str, tuple[str, str, str] | None] = {
    "correct": None,
    "softmax_over_samples": (
        "softmax_solution",
        "z.max(axis=1, keepdims=True))\n    return exps / exps.sum(axis=1, keepdims=True)",
        "z.max(axis=0, keepdims=True))\n    return exps / exps.sum(axis=0, keepdims=True)",
    ),
    "gradients_without_mean": ("gradients_solution", "    delta /= len(y)\n", ""),
}


def typed_in(edit: tuple[str, str, str] | None) -> nbformat.NotebookNode:
    """The release notebook with the source's solutions (one edited) typed into its cells."""
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    if edit:
        cell, old, new = edit
        assert solutions[cell].count(old) == 1, f"{old!r} not once in {cell}"
        solutions[cell] = solutions[cell].replace(old, new)
    release = nbformat.read(ROOT / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = "\n".join(
                line for line in solutions[grade_id].splitlines() if "### " not in line
            )
    return release


def hand_in(course: Course) -> None:
    for student, edit in SUBMISSIONS.items():
        folder = course.path("submitted", assignment=ASSIGNMENT, student=student)
        Path(folder).mkdir(parents=True)
        nbformat.write(typed_in(edit), Path(folder) / NOTEBOOK)


@pytest.fixture(scope="module", params=["gradekit", "nbgrader"])
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Course:
    course = copy_course(tmp_path_factory.mktemp(request.param), students=[], assignment=ASSIGNMENT)
    hand_in(course)
    if request.param == "gradekit":
        summary = autograde_class(course=course, assignment=ASSIGNMENT, jobs=2)
        assert not summary.failed, summary.failed
    else:
        autograde_with_nbgrader(course, SUBMISSIONS, assignment=ASSIGNMENT)
    return course


def feedback_of(course: Course, student: str, grade_id: str) -> str:
    path = Path(course.path("autograded", assignment=ASSIGNMENT, student=student)) / NOTEBOOK
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return "".join(o.get("text", "") for o in cell.get("outputs", []))
    raise AssertionError(f"no cell {grade_id}")


def test_a_correct_submission_gets_every_point(graded: Course) -> None:
    feedback = "".join(feedback_of(graded, "correct", cell) for cell in FULL)
    assert grades(graded, "correct", ASSIGNMENT) == FULL, feedback


@pytest.mark.parametrize(
    ("student", "cell", "mistake"),
    [
        pytest.param(
            "softmax_over_samples",
            "softmax",
            "normalised over axis 0 (the samples) instead of axis 1",
            id="softmax-over-samples",
        ),
        pytest.param(
            "gradients_without_mean",
            "gradients",
            "not divided by the number of samples m",
            id="gradients-without-mean",
        ),
    ],
)
def test_a_bug_loses_points_in_its_own_cell_with_its_diagnosis(
    graded: Course, student: str, cell: str, mistake: str
) -> None:
    scores = grades(graded, student, ASSIGNMENT)
    assert scores[cell][0] < scores[cell][1]
    assert {other: score for other, score in scores.items() if other != cell} == {
        other: score for other, score in FULL.items() if other != cell
    }
    assert f"Likely mistake: {mistake}" in feedback_of(graded, student, cell)
