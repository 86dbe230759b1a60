"""Deadlines, extensions and the late policy: penalties recomputed from the gradebook alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from gradekit.nbgrader.course import Course
from gradekit.nbgrader.deadlines import (
    DeadlineError,
    LatePolicy,
    apply_deadlines,
    duration_text,
    parse_extension,
)

pytestmark = pytest.mark.filterwarnings("ignore", category=SAWarning)

HOUR = 3600.0
DAY = 24 * HOUR
DUE = datetime(2026, 3, 8, 23, 59)


def policy(**settings: float) -> LatePolicy:
    return LatePolicy(**settings)


@pytest.mark.parametrize(
    ("settings", "seconds_late", "percent"),
    [
        pytest.param({"percent_per_day": 10}, 0, 0, id="on-time"),
        pytest.param({"percent_per_day": 10}, 1, 10, id="one-second-is-a-started-day"),
        pytest.param({"percent_per_day": 10}, DAY + 1, 20, id="second-day"),
        pytest.param({"percent_per_hour": 2}, 2.5 * HOUR, 6, id="per-started-hour"),
        pytest.param({"percent_per_day": 30, "cap_percent": 50}, 5 * DAY, 50, id="capped"),
        pytest.param({"percent_per_day": 10, "grace_minutes": 15}, 600, 0, id="within-grace"),
        pytest.param({"percent_per_day": 10, "grace_minutes": 15}, 1200, 10, id="after-grace"),
        pytest.param({"percent_per_day": 10, "cutoff_hours": 48}, 49 * HOUR, 100, id="cutoff"),
        pytest.param({"cutoff_hours": 0}, 1, 100, id="hard-deadline"),
        pytest.param({}, 3 * DAY, 0, id="no-policy"),
    ],
)
def test_the_late_policy_takes_the_configured_percent(
    settings: dict[str, float], seconds_late: float, percent: float
) -> None:
    assert policy(**settings).percent(seconds_late) == pytest.approx(percent)


def test_the_penalty_is_a_share_of_the_notebook_score() -> None:
    assert policy(percent_per_day=10).late_submission_penalty("s", 8.0, DAY + 1) == 1.6


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("2 days", timedelta(days=2)),
        ("1d 12h", timedelta(days=1, hours=12)),
        ("90 minutes", timedelta(minutes=90)),
        ("1 week", timedelta(weeks=1)),
    ],
)
def test_extensions_are_read_as_time_spans(text: str, span: timedelta) -> None:
    assert parse_extension(text) == span


@pytest.mark.parametrize("text", ["", "soon", "2 days and a bit", "-1 day"])
def test_an_unreadable_extension_is_an_error(text: str) -> None:
    with pytest.raises(DeadlineError):
        parse_extension(text)


def test_durations_are_shown_rounded_up_to_the_minute() -> None:
    assert [duration_text(s) for s in (59, 3 * HOUR + 1199, DAY + 2 * HOUR)] == [
        "1 min",
        "3 h 20 min",
        "1 d 2 h",
    ]


# -- recomputing from the gradebook ----------------------------------------------------------------


def make_course(tmp_path: Path, *, due: str, per_day: float = 10.0) -> Course:
    root = tmp_path / "course"
    (root / "source" / "hw").mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root / 'gradebook.db'}'\n"
        f"c.GradeKit.due_dates = {{'hw': {due!r}}}\n"
        "c.AssignLatePenalties.plugin_class = 'gradekit.nbgrader.deadlines.LatePolicy'\n"
        f"c.LatePolicy.percent_per_day = {per_day}\n",
        encoding="utf-8",
    )
    return Course.find(root)


def fill_gradebook(course: Course, submitted: dict[str, datetime | None]) -> None:
    """Assignment ``hw``, one notebook with one 10-point cell, each student scoring 8."""
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        gradebook.add_assignment("hw")
        gradebook.add_notebook("nb", "hw")
        gradebook.add_grade_cell("q1", "nb", "hw", max_score=10.0, cell_type="code")
        gradebook.add_source_cell("q1", "nb", "hw", cell_type="code", source="", checksum="x")
        for student, time in submitted.items():
            gradebook.add_student(student)
            gradebook.add_submission("hw", student, timestamp=time)
            grade = gradebook.find_grade("q1", "nb", "hw", student)
            grade.auto_score = 8.0
        gradebook.db.commit()


def by_student(course: Course) -> dict[str, tuple[float, float]]:
    return {
        row.student: (row.penalty, row.score)
        for row in apply_deadlines(course=course, assignment="hw")
    }


def test_changing_the_due_date_or_an_extension_recomputes_the_penalties(tmp_path: Path) -> None:
    course = make_course(tmp_path, due="2026-03-08 23:59:00")
    fill_gradebook(
        course,
        {
            "early": DUE - timedelta(hours=1),
            "late": DUE + timedelta(hours=30),  # second started day: 20 %
            "unknown_time": None,
        },
    )
    assert by_student(course) == {
        "early": (0.0, 8.0),
        "late": (pytest.approx(1.6), pytest.approx(6.4)),
        "unknown_time": (0.0, 8.0),
    }
    (course.root / "extensions.csv").write_text(
        "student_id,assignment,extension\nlate,hw,1 day\nearly,other,3 days\n", encoding="utf-8"
    )
    rows = {row.student: row for row in apply_deadlines(course=course, assignment="hw")}
    assert rows["late"].penalty == pytest.approx(0.8)  # 6 h late: 10 %
    assert rows["late"].describe() == "6 h late"
    assert rows["late"].extension == timedelta(days=1)
    assert rows["early"].extension is None
    moved = make_course(tmp_path, due="2026-03-10 12:00:00 UTC")
    assert by_student(moved)["late"] == (0.0, 8.0)  # due date moved past it (with the extension)


def test_a_bad_extensions_file_names_the_line(tmp_path: Path) -> None:
    course = make_course(tmp_path, due="2026-03-08 23:59:00")
    fill_gradebook(course, {"late": DUE + timedelta(hours=1)})
    (course.root / "extensions.csv").write_text(
        "student_id,assignment,extension\nlate,hw,tomorrow\n", encoding="utf-8"
    )
    with pytest.raises(DeadlineError, match="line 2"):
        apply_deadlines(course=course, assignment="hw")


# -- exports for the LMS ---------------------------------------------------------------------------


def test_lms_exports_hold_the_penalised_totals_and_the_roster_ids(tmp_path: Path) -> None:
    import csv

    from gradekit.term.lms_export import export_grades
    from gradekit.term.roster import Roster

    course = make_course(tmp_path, due="2026-03-08 23:59:00")
    fill_gradebook(course, {"jane": DUE + timedelta(hours=30), "li": DUE, "omar": None})
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(
        "student_id,name,email,lms_id\n"
        "jane,Jane Doe,jane@example.org,4711\n"
        "li,Li Wei,li@x.org,88\n",
        encoding="utf-8",
    )
    roster = Roster.read(roster_file)
    out = tmp_path / "exports"

    def read(fmt: str) -> tuple[list[list[str]], list[str]]:
        done = export_grades(course=course, assignment="hw", fmt=fmt, folder=out, roster=roster)
        with done.path.open(newline="", encoding="utf-8") as handle:
            return list(csv.reader(handle)), done.not_in_roster

    canvas, missing = read("canvas")
    assert missing == ["omar"]
    assert canvas == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw"],
        ["Points Possible", "", "", "", "", "10"],
        ["Jane Doe", "4711", "jane", "jane@example.org", "", "6.4"],
        ["Li Wei", "88", "li", "li@x.org", "", "8"],
        ["omar", "", "omar", "", "", "8"],
    ]
    moodle, _ = read("moodle")
    assert moodle[0] == [
        "Identifier",
        "Full name",
        "Email address",
        "Grade",
        "Maximum Grade",
        "Feedback comments",
    ]
    assert moodle[1] == [
        "Participant 4711",
        "Jane Doe",
        "jane@example.org",
        "6.4",
        "10",
        "submitted 1 d 6 h late: late penalty -1.6 points",
    ]
    plain, _ = read("csv")
    assert plain[1][:8] == ["jane", "Jane Doe", "jane@example.org", "4711", "8", "1.6", "6.4", "10"]


def test_submission_times_from_a_file_make_a_timeless_submission_late(tmp_path: Path) -> None:
    course = make_course(tmp_path, due="2026-03-08 23:59:00")
    fill_gradebook(course, {"canvas_student": None})
    assert by_student(course)["canvas_student"] == (0.0, 8.0)
    (course.root / "submission_times.csv").write_text(
        "student_id,assignment,submitted\ncanvas_student,hw,2026-03-09 01:00:00 +0100\n",
        encoding="utf-8",
    )
    (row,) = apply_deadlines(course=course, assignment="hw")
    assert row.submitted == datetime(2026, 3, 9, 0, 0)
    assert (row.describe(), row.penalty) == ("1 min late", pytest.approx(0.8))
