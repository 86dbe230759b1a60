"""An instructor in JupyterLab's formgrader: the graded submissions; a reflection graded by hand.

The formgrader is opened as an instructor opens it, from Lab's *Nbgrader* menu (it is an iframe
in a Lab tab). What it shows is compared with the gradebook of the course copy, and the manual
grade given in the browser is read back from the gradebook and from ``nbgrader export``.
"""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from playwright.sync_api import FrameLocator, Page, expect

from gradekit.cli.lab import lab_environment
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.manual_grades import manual_grade
from synthetic.samples import SAMPLES
from tests.e2e.lab import ASSIGNMENT, LabServer, open_lab, shoot

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

STUDENT = "alice_complete"
NOTEBOOK = "03_multiclass_and_experiments"
REFLECTION = "reflection_nonlinearity"
POINTS = 1.5
COMMENT = "The collapse argument is right; say what the non-linearity buys on the circles."
#: What the mark scheme above the reflection tells the grader.
MARK_SCHEME = "A full answer says that a composition of linear (affine) maps is again one"
SCORE = re.compile(r"^\d+(\.\d+)? / \d+(\.\d+)?$")
#: XPath test for a notebook cell of the formgrader's page (class "cell", not "nbgrader_cell").
IS_CELL = "contains(concat(' ', normalize-space(@class), ' '), ' cell ')"


def open_formgrader(page: Page, lab: LabServer, *, workspace: str) -> FrameLocator:
    """Open Lab, then the formgrader from the Nbgrader menu; the formgrader's frame."""
    open_lab(page, lab, workspace=workspace)
    page.keyboard.press("Control+B")  # the file browser away: the formgrader gets the width
    expect(page.locator("#jp-left-stack")).to_be_hidden()
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_role("menuitem", name="Formgrader", exact=True).click()
    return page.frame_locator("iframe[src$='/formgrader']")


def open_submissions(formgrader: FrameLocator) -> None:
    """From Manage Assignments to the assignment's submissions."""
    row = formgrader.locator("tr", has_text=ASSIGNMENT)
    row.get_by_role("link", name=str(len(SAMPLES)), exact=True).click()
    expect(formgrader.locator("td.student-id")).to_have_count(len(SAMPLES))


def gradebook_rows(course: Course) -> dict[str, tuple[float, float, bool]]:
    """student -> (score, max score, needs manual grade) of the assignment, from the gradebook."""
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        rows = {}
        for student in SAMPLES:
            submission = gradebook.find_submission(ASSIGNMENT, student)
            rows[student] = (submission.score, submission.max_score, submission.needs_manual_grade)
        return rows


def export_grades(course: Course, destination: Path) -> dict[str, dict[str, str]]:
    """``nbgrader export`` run in the course folder; student -> that student's row of the CSV."""
    subprocess.run(
        ["nbgrader", "export", "--to", str(destination)],
        cwd=course.root,
        env=lab_environment(),
        check=True,
        capture_output=True,
    )
    with destination.open(newline="", encoding="utf-8") as table:
        return {row["student_id"]: row for row in csv.DictReader(table)}


def test_formgrader_shows_the_autograded_submissions_with_the_gradebook_scores(
    lab: LabServer, page: Page, e2e_course: Course
) -> None:
    formgrader = open_formgrader(page, lab, workspace="formgrader-scores")
    assignment = formgrader.locator("tr", has_text=ASSIGNMENT)
    expect(assignment).to_contain_text(str(len(SAMPLES)))
    shoot(page, "lab-formgrader-assignments")

    open_submissions(formgrader)
    for student, (score, top, needs_manual) in gradebook_rows(e2e_course).items():
        row = formgrader.locator("tr", has=formgrader.locator("td.student-id", has_text=student))
        expect(row.locator("td.status")).to_have_text(
            "needs manual grading" if needs_manual else "graded"
        )
        expect(row.locator("td.score")).to_have_text(SCORE)
        shown, shown_top = map(float, row.locator("td.score").inner_text().split(" / "))
        assert (shown, shown_top) == (pytest.approx(score, abs=0.005), top), student
    formgrader.locator("table").scroll_into_view_if_needed()
    shoot(page, "lab-formgrader-submissions")


def test_manual_grade_of_a_reflection_reaches_the_gradebook_and_the_export(
    lab: LabServer, page: Page, e2e_course: Course, tmp_path: Path
) -> None:
    before = export_grades(e2e_course, tmp_path / "before.csv")[STUDENT]
    formgrader = open_formgrader(page, lab, workspace="formgrader-manual")
    open_submissions(formgrader)
    student = formgrader.locator("tr", has=formgrader.locator("td.student-id", has_text=STUDENT))
    student.locator("td.student-name a").click()
    formgrader.get_by_role("link", name=NOTEBOOK, exact=True).click()

    answer = formgrader.locator(".nbgrader_cell", has=formgrader.locator(f"#{REFLECTION}"))
    cell = answer.locator(f"xpath=ancestor::div[{IS_CELL}][1]")
    question = cell.locator(f"xpath=preceding-sibling::div[{IS_CELL}][1]")
    expect(question).to_contain_text(MARK_SCHEME)  # the rubric, right above the answer
    expect(answer).to_contain_text("Student's answer")

    score = answer.locator(f"#{REFLECTION}")
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url) as saved:
        score.fill(str(POINTS))
        score.blur()  # the formgrader saves a score when its input loses focus
    assert saved.value.ok
    comment = answer.locator(f"#{REFLECTION}-comment")
    with page.expect_response(lambda r: "/formgrader/api/comment/" in r.url) as saved:
        comment.fill(COMMENT)
        comment.blur()
    assert saved.value.ok
    # The question at the top of the view, below the formgrader's fixed navigation bar (first
    # stopping the formgrader's own animated scroll to the input that had the focus).
    question.evaluate(
        "cell => { $('body, html').stop(); cell.scrollIntoView(); window.scrollBy(0, -120); }"
    )
    shoot(page, "lab-formgrader-manual-grade")

    grade = manual_grade(
        e2e_course, assignment=ASSIGNMENT, student=STUDENT, notebook=NOTEBOOK, grade_id=REFLECTION
    )
    assert (grade.score, grade.comment, grade.needs_manual_grade) == (POINTS, COMMENT, False)
    after = export_grades(e2e_course, tmp_path / "after.csv")[STUDENT]
    assert float(after["raw_score"]) == pytest.approx(float(before["raw_score"]) + POINTS)
    assert float(after["score"]) == pytest.approx(float(before["score"]) + POINTS)
