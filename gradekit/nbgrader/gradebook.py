"""What nbgrader's gradebook holds about an assignment: every student's scores.

The gradebook is nbgrader's database (SQLite ``gradebook.db`` by default): it has the autograded
points and, once graded by hand, the manual ones. The kit reads it only through nbgrader's
:class:`nbgrader.api.Gradebook`.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry

from gradekit.nbgrader.course import Course


@dataclass(frozen=True)
class StudentScore:
    """A student's autograded (and, where given, manual) score for one assignment.

    Attributes:
        student: The student's nbgrader id.
        notebooks: Score of each notebook, by notebook name.
        score: The submission's total (nbgrader's: a manual grade replaces the autograded one).
        max_score: The points the assignment is worth.
    """

    student: str
    notebooks: dict[str, float]
    score: float
    max_score: float


def scores(*, course: Course, assignment: str) -> list[StudentScore]:
    """Every student's score for the assignment, from the gradebook (students without a
    submission are left out)."""
    rows = []
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        for student in gradebook.students:
            try:
                submission = gradebook.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            rows.append(
                StudentScore(
                    student=student.id,
                    notebooks={nb.name: nb.score for nb in submission.notebooks},
                    score=submission.score,
                    max_score=submission.max_score,
                )
            )
    return rows
