"""``gradekit.nbgrader.manual_grades``: the manual score and comment of a cell, read from the
gradebook."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from gradekit.nbgrader.course import Course
from gradekit.nbgrader.manual_grades import ManualGrade, manual_grade

WHERE = {"assignment": "a1", "student": "s1", "notebook": "nb", "grade_id": "reflection_x"}


@pytest.fixture
def course(tmp_path: Path) -> Course:
    """A course whose gradebook has one submission with one manually graded markdown answer."""
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{tmp_path / 'gradebook.db'}'\n"
        "c.CourseDirectory.course_id = 'course'\n",
        encoding="utf-8",
    )
    course = Course.find(tmp_path)
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        gradebook.add_assignment("a1")
        gradebook.add_notebook("nb", "a1")
        gradebook.add_grade_cell("reflection_x", "nb", "a1", max_score=2, cell_type="markdown")
        gradebook.add_solution_cell("reflection_x", "nb", "a1")
        gradebook.add_student("s1")
        gradebook.add_submission("a1", "s1")
    return course


def test_a_cell_not_graded_by_hand_yet_has_no_score_or_comment(course: Course) -> None:
    assert manual_grade(course, **WHERE) == ManualGrade(
        score=None, max_score=2.0, comment=None, needs_manual_grade=True
    )


def test_the_grade_and_comment_given_by_hand_are_returned(course: Course) -> None:
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        gradebook.find_grade("reflection_x", "nb", "a1", "s1").manual_score = 1.5
        gradebook.find_comment("reflection_x", "nb", "a1", "s1").manual_comment = "Good."
        gradebook.db.commit()
    grade = manual_grade(course, **WHERE)
    assert (grade.score, grade.comment, grade.max_score) == (1.5, "Good.", 2.0)


def test_an_unknown_cell_is_reported(course: Course) -> None:
    with pytest.raises(MissingEntry):
        manual_grade(course, **{**WHERE, "grade_id": "no_such_cell"})
