"""gradekit.term.report on a real class: the bundled submissions of the MLP course, graded by
plain ``nbgrader autograde`` (the shared ``nbgrader_course``). The report's own tests, on synthetic
classes, are ``tests/unit/term/test_report.py``."""

from __future__ import annotations

import pytest
from markupsafe import escape

from gradekit.term.report import collect_results, write_report
from gradekit.term.report.checks_csv import check_rows


@pytest.mark.slow
def test_report_on_a_real_autograded_submission(nbgrader_course, tmp_path):
    """nbgrader autograde of the bundled submissions: every check of the buggy one is in the
    CSV and the report, and its diagnosed mistakes are found."""
    course = nbgrader_course
    results = collect_results(course=course, assignment="mlp_from_scratch")
    (student,) = [s for s in results.students if s.student == "bob_typical_bugs"]
    rows = [row for row in check_rows(results=results) if row.student == student.student]
    assert len(rows) == sum(
        len(item.checks) for nb in student.notebooks for item in nb.items.values()
    )
    assert sum(row.points for row in rows) == pytest.approx(student.points, abs=1e-3)
    assert any(row.mistake for row in rows)
    html = write_report(results=results, folder=tmp_path / "report").read_text(encoding="utf-8")
    for row in rows:
        assert f">{escape(row.check)}</td>" in html, row.check
