"""Grades and feedback back to the LMS: the files an LMS imports, from the gradebook.

``gradekit export --format canvas|moodle|csv --roster roster.csv`` writes one file per
assignment with one grade column: the gradebook's total (manual grades included) minus the late
penalty that :func:`gradekit.nbgrader.deadlines.apply_deadlines` has just recomputed.

- **canvas** (``canvas_grades.csv``): the columns of Canvas's gradebook export, which its
  gradebook import reads back: ``Student``, ``ID`` (the Canvas user id: the roster's
  ``lms_id``), ``SIS User ID``, ``SIS Login ID``, ``Section``, then the assignment's column, and a
  ``Points Possible`` row first.
- **moodle** (``moodle_grades.csv``): the columns of the assignment's offline grading worksheet,
  which "Upload grading worksheet" reads back: ``Identifier`` (``Participant <id>``, the roster's
  ``lms_id``), ``Full name``, ``Email address``, ``Grade``, ``Maximum Grade``, ``Feedback
  comments`` (lateness and penalty).
- **csv** (``grades_<assignment>.csv``): every figure, for any other LMS or a spreadsheet.

Students of the gradebook the roster does not know are written without LMS id and listed in
the result, so the instructor sees them before the import does.
"""

from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.nbgrader.course import Course
from gradekit.nbgrader.deadlines import Lateness, apply_deadlines
from gradekit.term.roster import Roster, Student

FORMATS = ("canvas", "moodle", "csv")


@dataclass
class ExportResult:
    """What an export wrote.

    Attributes:
        path: The grades file.
        rows: Students written.
        not_in_roster: Students of the gradebook the roster does not list (written without an
            LMS id).
    """

    path: Path
    rows: int
    not_in_roster: list[str] = field(default_factory=list)


def penalty_comment(row: Lateness) -> str:
    """``submitted 6 h late: late penalty -1.6 points`` (empty when on time)."""
    if not row.late:
        return ""
    taken = f": late penalty -{row.penalty:g} points" if row.penalty else ": no penalty"
    return f"submitted {row.describe()}{taken}"


def export_grades(
    *, course: Course, assignment: str, fmt: str, folder: Path, roster: Roster | None
) -> ExportResult:
    """Write the grades file of one LMS format (see the module's documentation).

    Raises:
        ValueError: If ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    rows = apply_deadlines(course=course, assignment=assignment)
    people = {s.student_id: s for s in roster.students} if roster else {}
    missing = [row.student for row in rows if roster is not None and row.student not in people]
    folder.mkdir(parents=True, exist_ok=True)
    name = {"canvas": "canvas_grades.csv", "moodle": "moodle_grades.csv"}.get(
        fmt, f"grades_{assignment}.csv"
    )
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for line in _lines(fmt, assignment, rows, people):
            writer.writerow(line)
    return ExportResult(path=path, rows=len(rows), not_in_roster=missing)


def _lines(
    fmt: str, assignment: str, rows: list[Lateness], people: dict[str, Student]
) -> list[list[str]]:
    def person(student: str) -> Student:
        return people.get(student, Student(student_id=student))

    if fmt == "canvas":
        top = max((row.max_score for row in rows), default=0.0)
        lines = [
            ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment],
            ["Points Possible", "", "", "", "", _points(top)],
        ]
        for row in rows:
            who = person(row.student)
            lines.append(
                [
                    who.name or row.student,
                    who.lms_id,
                    row.student,
                    who.email,
                    "",
                    _points(row.score),
                ]
            )
        return lines
    if fmt == "moodle":
        lines = [
            [
                "Identifier",
                "Full name",
                "Email address",
                "Grade",
                "Maximum Grade",
                "Feedback comments",
            ]
        ]
        for row in rows:
            who = person(row.student)
            identifier = f"Participant {who.lms_id}" if who.lms_id else ""
            lines.append(
                [
                    identifier,
                    who.name or row.student,
                    who.email,
                    _points(row.score),
                    _points(row.max_score),
                    penalty_comment(row),
                ]
            )
        return lines
    lines = [
        [
            "student_id",
            "name",
            "email",
            "lms_id",
            "score_before_penalty",
            "late_penalty",
            "score",
            "max_score",
            "submitted",
            "due",
            "seconds_late",
        ]
    ]
    for row in rows:
        who = person(row.student)
        lines.append(
            [
                row.student,
                who.name,
                who.email,
                who.lms_id,
                _points(row.score + row.penalty),
                _points(row.penalty),
                _points(row.score),
                _points(row.max_score),
                row.submitted.isoformat() if row.submitted else "",
                row.due.isoformat() if row.due else "",
                f"{row.seconds_late:.0f}",
            ]
        )
    return lines


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


# -- feedback archives -----------------------------------------------------------------------------


@dataclass
class FeedbackArchives:
    """The feedback archives written.

    Attributes:
        students: One zip per student (``<student>.zip``: that student's feedback files).
        bulk: The one archive for the LMS's bulk feedback upload, or None (no roster).
    """

    students: dict[str, Path] = field(default_factory=dict)
    bulk: Path | None = None


def write_feedback_archives(
    *,
    course: Course,
    assignment: str,
    folder: Path,
    students: list[str],
    roster: Roster | None,
    lms: str,
) -> FeedbackArchives:
    """Zip each student's feedback folder, and the bulk archive the LMS's upload expects.

    The bulk archive names each file the way the LMS's download named the student's files, which
    is how its feedback upload finds the student: Moodle ("Upload multiple feedback files in a
    zip") a folder ``<Full Name>_<participant id>_assignsubmission_file_`` per student; Canvas
    ("Re-upload submissions") ``<sortable name>_<user id>_<file name>``. Students without an LMS
    id in the roster are left out of the bulk archive (their own zip is still written).
    """
    result = FeedbackArchives()
    folder.mkdir(parents=True, exist_ok=True)
    people = {s.student_id: s for s in roster.students} if roster else {}
    bulk_entries: list[tuple[str, Path]] = []
    for student in students:
        source = course.path("feedback", assignment=assignment, student=student)
        files = sorted(p for p in source.rglob("*") if p.is_file())
        if not files:
            continue
        own = folder / f"{student}.zip"
        with zipfile.ZipFile(own, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, f"{assignment}/{path.relative_to(source)}")
        result.students[student] = own
        who = people.get(student)
        if who is None or not who.lms_id:
            continue
        for path in files:
            bulk_entries.append((_bulk_name(lms, who, path.relative_to(source).as_posix()), path))
    if bulk_entries and lms in ("canvas", "moodle"):
        bulk = folder / f"{assignment}_feedback_{lms}.zip"
        with zipfile.ZipFile(bulk, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, path in bulk_entries:
                archive.write(path, name)
        result.bulk = bulk
    return result


def _bulk_name(lms: str, who: Student, relative: str) -> str:
    flat = relative.replace("/", "_")
    if lms == "moodle":
        return f"{who.name or who.student_id}_{who.lms_id}_assignsubmission_file_/{flat}"
    sortable = " ".join(reversed(who.name.split(" ", 1))) if who.name else who.student_id
    return f"{re.sub(r'[^a-z0-9]', '', sortable.lower())}_{who.lms_id}_{flat}"
