"""What an instructor gave by hand (in the formgrader) to one cell, read from the gradebook."""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.api import Gradebook

from gradekit.nbgrader.course import Course


@dataclass(frozen=True)
class ManualGrade:
    """The gradebook's record of one manually graded cell of a submitted notebook.

    Attributes:
        score: The points the instructor gave (``None`` while not graded by hand).
        max_score: The cell's points.
        comment: The instructor's comment (``None`` when there is none).
        needs_manual_grade: Whether nbgrader still lists the cell as waiting for a grader.
    """

    score: float | None
    max_score: float
    comment: str | None
    needs_manual_grade: bool


def manual_grade(
    course: Course, *, assignment: str, student: str, notebook: str, grade_id: str
) -> ManualGrade:
    """The manual score and comment of the cell ``grade_id`` in a student's submitted notebook.

    Args:
        course: The course whose gradebook is read.
        assignment: The assignment, e.g. ``hw1``.
        student: The student id.
        notebook: The notebook's name without ``.ipynb``.
        grade_id: The cell's nbgrader grade id, e.g. ``reflection_nonlinearity``.

    Raises:
        nbgrader.api.MissingEntry: If the submission, the notebook or the cell is not in the
            gradebook.
    """
    coursedir = course.coursedir
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        grade = gradebook.find_grade(grade_id, notebook, assignment, student)
        comment = gradebook.find_comment(grade_id, notebook, assignment, student)
        return ManualGrade(
            score=grade.manual_score,
            max_score=grade.max_score,
            comment=comment.manual_comment,
            needs_manual_grade=grade.needs_manual_grade,
        )
