"""End to end: ``nbgrader autograde`` of the bundled submissions with the kit's configuration.

The course is copied to a temporary folder (the repository's gradebook is never touched), the
release is generated, every sample student is autograded through nbgrader's own API (the
``nbgrader_course`` fixture of ``tests/conftest.py``), and the gradebook, the autograded notebooks
and the feedback are checked.
"""

from __future__ import annotations

import nbformat
import pytest
from nbgrader.api import Gradebook

from gradekit.nbgrader.course import Course
from gradekit.nbgrader.results import read_results
from synthetic.courses import ASSIGNMENT, grades

#: Grade cells where bob's three bugs (one per notebook) cost points.
BOB_LOSES = {"derivatives", "nn_backward", "nn_training", "mc_softmax_loss"}
#: The reflection answers of notebook 3, graded by hand in the formgrader (2 points each).
REFLECTIONS = {
    f"reflection_{topic}"
    for topic in (
        "nonlinearity",
        "vanishing_gradients",
        "backpropagation",
        "initialisation",
        "learning_rate",
        "regularisation",
    )
}
#: An unanswered reflection scores 0 automatically (nbgrader sees the stub is unchanged).
NOTEBOOK3_CELLS = {
    "mc_init",
    "mc_softmax_loss",
    "mc_backward",
    "mc_training",
    "pytorch_multiclass",
    "pytorch_multiclass_training",
    "experiments",
    "l2_regularisation",
    "weight_snapshot",
} | REFLECTIONS
NB3 = "03_multiclass_and_experiments"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(nbgrader_course: Course) -> Course:
    return nbgrader_course


def test_complete_submission_gets_every_autograded_point(course):
    assert all(score == top for score, top in grades(course, "alice_complete").values())


def test_empty_submission_gets_zero_without_crashing(course):
    assert all(score == 0 for score, _ in grades(course, "carol_empty").values())


def test_typical_bugs_cost_points_where_they_are(course):
    for cell, (score, top) in grades(course, "bob_typical_bugs").items():
        if cell in BOB_LOSES:
            assert 0 < score < top, f"{cell}: expected partial credit, got {score} of {top}"
        else:
            assert score == top, f"{cell}: {score} of {top}"


def test_partly_done_submission_scores_what_is_done(course):
    for cell, (score, top) in grades(course, "dave_partly_done").items():
        assert score == (0 if cell in NOTEBOOK3_CELLS else top), cell


def test_gradebook_holds_the_trusted_grades_shown_in_the_notebook(course):
    folder = course.path("autograded", assignment=ASSIGNMENT, student="bob_typical_bugs")
    stored = grades(course, "bob_typical_bugs")
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        result = read_results(nb)
        assert result is not None
        for item in result.items.values():
            assert stored[item.item][0] == pytest.approx(item.points)
        for cell in nb.cells:
            if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("grade"):
                continue
            assert cell.outputs[0]["text"].startswith("Graded outside your notebook")


def test_feedback_shows_messages_but_no_hidden_tests(course):
    api = course.api()
    assert api.generate_feedback(ASSIGNMENT, "bob_typical_bugs")["success"]
    folder = course.path("feedback", assignment=ASSIGNMENT, student="bob_typical_bugs")
    pages = sorted(folder.glob("*.html"))
    assert len(pages) == 3
    text = "".join(page.read_text(encoding="utf-8") for page in pages)
    assert "Graded outside your notebook" in text and "Likely mistake" in text
    for secret in ("BEGIN HIDDEN TESTS", "grade_cell(", "MARK SCHEME", "reference_impl"):
        assert secret not in text


def reflection_grades(course: Course, student: str) -> dict[str, tuple[float | None, bool, str]]:
    """reflection grade id -> (auto score, needs manual grade, auto comment) in the gradebook."""
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        notebook = gradebook.find_submission_notebook(NB3, ASSIGNMENT, student)
        comments = {comment.name: comment.auto_comment for comment in notebook.comments}
        return {
            grade.name: (grade.auto_score, grade.needs_manual_grade, comments[grade.name])
            for grade in notebook.grades
            if grade.name in REFLECTIONS
        }


def test_answered_reflections_wait_for_a_manual_grade(course):
    stored = reflection_grades(course, "alice_complete")
    assert set(stored) == REFLECTIONS
    assert all(grade == (None, True, None) for grade in stored.values()), stored
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        notebook = gradebook.find_submission_notebook(NB3, ASSIGNMENT, "alice_complete")
        assert sum(g.max_score for g in notebook.grades if g.name in REFLECTIONS) == 12


def test_unanswered_reflections_score_zero_without_a_grader(course):
    stored = reflection_grades(course, "carol_empty")
    assert all(grade == (0, False, "No response.") for grade in stored.values()), stored


def test_formgrader_notebook_shows_each_mark_scheme_above_its_answer(course):
    folder = course.path("autograded", assignment=ASSIGNMENT, student="alice_complete")
    cells = nbformat.read(folder / f"{NB3}.ipynb", as_version=4).cells
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in cells]
    for grade_id in REFLECTIONS:
        question = cells[ids.index(grade_id) - 1]
        assert "=== BEGIN MARK SCHEME ===" in question.source, grade_id
        assert question.metadata.nbgrader.grade_id == grade_id.replace("reflection_", "question_")
