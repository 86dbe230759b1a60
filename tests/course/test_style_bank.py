"""The style bank (``synthetic/styles.py``) through both grading paths: every style gets exactly the
marks of the instructor's solution, cell by cell.

A copy of the course gets one student with the instructor's three notebooks and one student per
batch of styles (the styled notebook, the untouched release for the others). Plain ``nbgrader
autograde`` grades them all, then ``gradekit autograde --grades-only`` grades them again; after
each run every styled notebook's cells must hold the instructor's marks of the same run.
"""

from __future__ import annotations

from collections.abc import Iterator

import nbformat
import pytest
from nbgrader.api import Gradebook

from gradekit.batch.dask_run import autograde_class
from gradekit.nbgrader.course import Course
from synthetic.banks import NB1, NB2, NB3, Variant, release_notebook, student_notebook
from synthetic.courses import ASSIGNMENT, autograde_with_nbgrader, copy_course, quiet_gradebook
from synthetic.styles import STYLES, batches

pytestmark = [pytest.mark.slow, pytest.mark.bank]

SAMPLE = "style_sample"
BATCHES = {f"style_batch_{number}": batch for number, batch in enumerate(batches(STYLES), 1)}


def marks(course: Course, student: str) -> dict[str, dict[str, tuple[float, float]]]:
    """notebook -> grade id -> (auto score, max score) of every autograded cell."""
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        return {
            notebook.name: {
                grade.name: (grade.auto_score, grade.max_score)
                for grade in notebook.grades
                if grade.auto_score is not None
            }
            for notebook in submission.notebooks
        }


def hand_in(course: Course, student: str, styled: Variant | None) -> None:
    folder = course.path("submitted", assignment=ASSIGNMENT, student=student)
    folder.mkdir(parents=True)
    for name in (NB1, NB2, NB3):
        if styled is None:
            node = student_notebook(None, name)
        elif styled.notebook == name:
            node = student_notebook(styled)
        else:
            node = release_notebook(name)
        nbformat.write(node, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Course]:
    course = copy_course(tmp_path_factory.mktemp("style-course"), students=[])
    hand_in(course, SAMPLE, None)
    for student, batch in BATCHES.items():
        hand_in(course, student, batch)
    yield course


@pytest.fixture(scope="module")
def after_nbgrader(course: Course) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
    autograde_with_nbgrader(course, [SAMPLE, *BATCHES])
    return {student: marks(course, student) for student in [SAMPLE, *BATCHES]}


@pytest.fixture(scope="module")
def after_gradekit(
    course: Course, after_nbgrader: dict[str, object]
) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
    with quiet_gradebook():
        summary = autograde_class(
            course=course, assignment=ASSIGNMENT, jobs=2, force=True, grades_only=True
        )
    assert [run.status for run in summary.runs] == ["graded"] * (1 + len(BATCHES)), summary.runs
    return {student: marks(course, student) for student in [SAMPLE, *BATCHES]}


def styles_with_other_marks(
    graded: dict[str, dict[str, dict[str, tuple[float, float]]]],
) -> list[str]:
    sample = graded[SAMPLE]
    assert all(score == top for cells in sample.values() for score, top in cells.values())
    wrong = []
    for student, batch in BATCHES.items():
        got = graded[student][batch.notebook]
        expected = sample[batch.notebook]
        if got != expected:
            differ = {
                cell: (got.get(cell), mark)
                for cell, mark in expected.items()
                if got.get(cell) != mark
            }
            wrong.append(f"{batch.id}: {differ}")
    return wrong


def test_the_bank_is_large_and_covers_every_notebook():
    assert len(STYLES) >= 20
    assert len({style.id for style in STYLES}) == len(STYLES)
    assert {style.notebook for style in STYLES} == {NB1, NB2, NB3}


def test_every_style_gets_the_samples_marks_through_nbgrader_autograde(after_nbgrader):
    assert not styles_with_other_marks(after_nbgrader)


def test_every_style_gets_the_samples_marks_through_gradekit_grades_only(after_gradekit):
    assert not styles_with_other_marks(after_gradekit)


def test_styles_are_graded_in_few_submissions():
    assert len(BATCHES) <= 6, [batch.id for batch in BATCHES.values()]
