"""Where each assignment of a course stands: ``gradekit status``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from gradekit.nbgrader.course import Course
from gradekit.term.steps import refresh_deadlines


@dataclass(frozen=True)
class AssignmentStatus:
    """Counts of students for one assignment.

    Attributes:
        assignment: The assignment.
        released: Whether ``release/`` has it.
        collected: Students with a folder under ``submitted/``.
        graded: Students with an autograded folder.
        stale: Graded students whose submitted notebooks changed after their grading.
        late: Submissions past their due date (extensions included).
        manually_graded: Submissions with at least one grade given by hand.
        needs_manual_grade: Submissions with a cell still waiting for a grader.
        feedback: Students with feedback written.
    """

    assignment: str
    released: bool
    collected: int
    graded: int
    stale: int
    late: int
    manually_graded: int
    needs_manual_grade: int
    feedback: int


def _newest(folder: Path) -> float:
    times = [p.stat().st_mtime for p in folder.glob("*.ipynb")]
    return max(times, default=0.0)


def assignment_status(*, course: Course, assignment: str) -> AssignmentStatus:
    """Count where the assignment's submissions are in the cycle (recomputes late penalties)."""
    students = course.students(assignment)
    graded = stale = feedback = 0
    for student in students:
        done = course.path("autograded", assignment=assignment, student=student)
        if done.is_dir() and any(done.glob("*.ipynb")):
            graded += 1
            submitted = course.path("submitted", assignment=assignment, student=student)
            stale += _newest(submitted) > _newest(done)
        feedback += course.path("feedback", assignment=assignment, student=student).is_dir()
    late = sum(row.late for row in refresh_deadlines(course=course, assignment=assignment))
    manual = waiting = 0
    coursedir = course.coursedir
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        try:
            record = gradebook.find_assignment(assignment)
        except MissingEntry:
            record = None
        for submission in record.submissions if record else []:
            grades = [g for nb in submission.notebooks for g in nb.grades]
            manual += any(g.manual_score is not None for g in grades)
            waiting += any(g.needs_manual_grade for g in grades)
    return AssignmentStatus(
        assignment=assignment,
        released=course.path("release", assignment=assignment).is_dir(),
        collected=len(students),
        graded=graded,
        stale=stale,
        late=late,
        manually_graded=manual,
        needs_manual_grade=waiting,
        feedback=feedback,
    )
