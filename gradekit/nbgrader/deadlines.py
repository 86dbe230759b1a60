"""Deadlines, extensions and late work, applied through nbgrader's late-submission mechanism.

- The due date of each assignment is set in ``nbgrader_config.py``::

      c.GradeKit.due_dates = {"hw1": "2026-03-08 23:59:00 Europe/Paris"}

  (read by :func:`parse_time`; a date without a time zone is UTC, as in nbgrader).
- Per-student extensions are rows of ``extensions.csv`` in the course folder::

      student_id,assignment,extension
      alice,hw1,2 days
      bob,,36 hours

  (an empty ``assignment`` means every assignment; ``extension`` is a sum of weeks, days, hours
  and minutes: ``1d 12h``, ``90 minutes``). They become nbgrader's own per-submission extension.
- The late policy is :class:`LatePolicy`, nbgrader's ``LateSubmissionPlugin`` that
  ``c.AssignLatePenalties.plugin_class`` names, so nbgrader's ``AssignLatePenalties`` step of
  ``autograde`` applies it, and :func:`apply_deadlines` recomputes every penalty from the gradebook
  without grading again (after a changed due date, extension, policy or manual grade).

The submission time is nbgrader's: ``timestamp.txt`` of the submission (``gradekit collect``
writes it where the LMS's file names carry times: Blackboard, Brightspace). Canvas and Moodle
downloads carry none (Canvas dates every zip entry at the download), so their times come from
``submission_times.csv`` in the course folder (``student_id,assignment,submitted``, any date
format, e.g. the "Last modified (submission)" column of Moodle's grading worksheet or Canvas's
``submitted_at``), which takes precedence. A submission without a time is never late.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import dateutil.parser
import dateutil.tz
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from traitlets import Float

from gradekit.nbgrader.course import Course

#: The extensions file read from the course folder.
EXTENSIONS = "extensions.csv"
#: Submission times for LMSs whose downloads carry none, read from the course folder.
SUBMISSION_TIMES = "submission_times.csv"
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(weeks?|w|days?|d|hours?|h|minutes?|mins?|m)\b", re.I)


class DeadlineError(ValueError):
    """A due date or the extensions file cannot be read (the message says where)."""


class LatePolicy(LateSubmissionPlugin):
    """A late penalty as a percentage of each notebook's score.

    The penalty grows by ``percent_per_day`` for each started day late, or ``percent_per_hour``
    for each started hour, up to ``cap_percent``. Nothing is taken within ``grace_minutes``
    after the due date (lateness still counts from the due date). After ``cutoff_hours`` (a hard
    cutoff; 0 turns every late submission into 0 points) the whole score is taken.
    """

    percent_per_day = Float(0.0, help="Percent of the score taken per started day late.").tag(
        config=True
    )
    percent_per_hour = Float(0.0, help="Percent of the score taken per started hour late.").tag(
        config=True
    )
    cap_percent = Float(100.0, help="At most this percent of the score is taken.").tag(config=True)
    grace_minutes = Float(0.0, help="Minutes after the due date without a penalty.").tag(
        config=True
    )
    cutoff_hours = Float(
        -1.0, help="Hours late after which the score is 0 (a hard cutoff); negative: none."
    ).tag(config=True)

    def percent(self, seconds_late: float) -> float:
        """The percent of the score taken for a submission ``seconds_late`` after its due date."""
        if seconds_late <= 0 or seconds_late <= self.grace_minutes * 60:
            return 0.0
        if self.cutoff_hours >= 0 and seconds_late > self.cutoff_hours * 3600:
            return 100.0
        taken = self.percent_per_day * math.ceil(seconds_late / 86400) + (
            self.percent_per_hour * math.ceil(seconds_late / 3600)
        )
        return min(taken, self.cap_percent, 100.0)

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float | None:
        """nbgrader's hook: the points taken from one notebook's ``score``."""
        return round(score * self.percent(total_seconds_late) / 100, 6)


@dataclass(frozen=True)
class Lateness:
    """One submission's lateness and penalty, as the gradebook now holds them.

    Attributes:
        student: The student id.
        submitted: The submission time (UTC), or None when nbgrader has none.
        due: The student's due date (UTC, extension included), or None.
        extension: The student's extension, or None.
        seconds_late: Seconds after ``due`` (0 when on time).
        penalty: Points taken for lateness (all notebooks).
        score: Points after the penalty (manual grades included).
        max_score: The points the assignment is worth.
    """

    student: str
    submitted: datetime | None
    due: datetime | None
    extension: timedelta | None
    seconds_late: float
    penalty: float
    score: float
    max_score: float

    @property
    def late(self) -> bool:
        return self.seconds_late > 0

    def describe(self) -> str:
        """``on time``, ``3 h 20 min late`` (never shows the policy)."""
        return "on time" if not self.late else f"{duration_text(self.seconds_late)} late"


def duration_text(seconds: float) -> str:
    """``2 d 3 h``, ``3 h 20 min``, ``5 min`` (rounded up to the minute)."""
    minutes = math.ceil(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    shown = [f"{amount} {unit}" for amount, unit in parts if amount][:2]
    return " ".join(shown) or "0 min"


def parse_time(text: str) -> datetime:
    """A date and time as naive UTC: ``2026-03-08 23:59``, ``2026-03-09 01:00 +0100``,
    ``2026-03-08 23:59:00 Europe/Paris``, ``Monday, 9 March 2026, 10:15 AM`` (no zone: UTC).

    (nbgrader's ``parse_utc`` reads ``+0100`` as 100 seconds; this does not.)

    Raises:
        ValueError: If the text is not a date and time.
    """
    head, _, last = text.strip().rpartition(" ")
    zone = dateutil.tz.gettz(last) if head and "/" in last else None
    when = dateutil.parser.parse(head if zone else text)
    if zone is not None:
        when = when.replace(tzinfo=zone)
    if when.tzinfo is not None:
        when = when.astimezone(dateutil.tz.UTC).replace(tzinfo=None)
    return when


def due_date(course: Course, assignment: str) -> datetime | None:
    """The assignment's due date from ``c.GradeKit.due_dates`` (naive UTC), or None."""
    text = course.settings.due_dates.get(assignment)
    if not text:
        return None
    try:
        return parse_time(text)
    except (ValueError, OverflowError):
        raise DeadlineError(
            f"c.GradeKit.due_dates[{assignment!r}] = {text!r} is not a date and time"
        ) from None


def parse_extension(text: str) -> timedelta:
    """``2 days``, ``1d 12h``, ``90 minutes`` as a time span.

    Raises:
        DeadlineError: If the text is not a sum of weeks, days, hours and minutes.
    """
    parts = _PART.findall(text)
    if not parts or _PART.sub("", text).strip(" ,+"):
        raise DeadlineError(f"{text!r} is not an extension such as '2 days' or '1d 12h'")
    amounts = {unit: 0.0 for unit in _UNITS.values()}
    for number, unit in parts:
        key = "m" if unit.lower().startswith("min") else unit[0].lower()
        amounts[_UNITS[key]] += float(number)
    return timedelta(**amounts)


def _rows(path: Path, required: set[str], assignment: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of a per-student CSV for ``assignment`` (an empty ``assignment``: every one)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = {_key(name) for name in reader.fieldnames or []}
        if not required <= header:
            raise DeadlineError(
                f"{path.name}: the header must name {' and '.join(sorted(required))}"
            )
        rows = []
        for number, raw in enumerate(reader, start=2):
            row = {_key(k): (v or "").strip() for k, v in raw.items()}
            if row.get("assignment", "") in ("", assignment) and row["student_id"]:
                rows.append((number, row))
        return rows


def _key(name: str | None) -> str:
    return (name or "").strip().lower().replace(" ", "_")


def read_extensions(path: Path, assignment: str) -> dict[str, timedelta]:
    """Each student's extension for ``assignment`` from an extensions CSV (none if no file).

    Raises:
        DeadlineError: If the file lacks a column, or a row's extension cannot be read.
    """
    found: dict[str, timedelta] = {}
    for number, row in _rows(path, {"student_id", "extension"}, assignment):
        try:
            found[row["student_id"]] = parse_extension(row["extension"])
        except DeadlineError as error:
            raise DeadlineError(f"{path.name}, line {number}: {error}") from None
    return found


def read_submission_times(path: Path, assignment: str) -> dict[str, datetime]:
    """Each student's submission time (naive UTC) for ``assignment`` (none if no file).

    Raises:
        DeadlineError: If the file lacks a column, or a row's time cannot be read.
    """
    found: dict[str, datetime] = {}
    for number, row in _rows(path, {"student_id", "submitted"}, assignment):
        try:
            found[row["student_id"]] = parse_time(row["submitted"])
        except (ValueError, OverflowError):
            raise DeadlineError(
                f"{path.name}, line {number}: {row['submitted']!r} is not a date and time"
            ) from None
    return found


def apply_deadlines(*, course: Course, assignment: str) -> list[Lateness]:
    """Put the configured due date and the extensions into the gradebook and recompute every
    notebook's late penalty with the configured plugin (as nbgrader's ``AssignLatePenalties``
    does), without grading again.

    Returns:
        Every submission's lateness and penalty, by student id.

    Raises:
        DeadlineError: If the due date or the extensions file cannot be read.
    """
    due = due_date(course, assignment)
    extensions = read_extensions(course.root / EXTENSIONS, assignment)
    times = read_submission_times(course.root / SUBMISSION_TIMES, assignment)
    step = AssignLatePenalties(config=course.config)
    step.init_plugin()
    plugin = step.plugin_inst
    rows = []
    coursedir = course.coursedir
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        try:
            record = gradebook.find_assignment(assignment)
        except MissingEntry:
            return []
        if due is not None:
            record.duedate = due
        for submission in record.submissions:
            submission.extension = extensions.get(submission.student.id)
            if submission.student.id in times:
                submission.timestamp = times[submission.student.id]
            seconds = submission.total_seconds_late
            for notebook in submission.notebooks:
                notebook.late_submission_penalty = None
                if seconds > 0:
                    taken = plugin.late_submission_penalty(
                        submission.student.id, notebook.score, seconds
                    )
                    if taken is not None:
                        notebook.late_submission_penalty = step._check_late_penalty(notebook, taken)
        gradebook.db.commit()
        for submission in record.submissions:
            penalty = sum(nb.late_submission_penalty or 0.0 for nb in submission.notebooks)
            rows.append(
                Lateness(
                    student=submission.student.id,
                    submitted=submission.timestamp,
                    due=submission.duedate,
                    extension=submission.extension,
                    seconds_late=submission.total_seconds_late,
                    penalty=penalty,
                    score=submission.score - penalty,
                    max_score=submission.max_score,
                )
            )
    return sorted(rows, key=lambda row: row.student)
