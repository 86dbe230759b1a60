"""A record of every grade that changed, and why: ``changes.csv``.

Before and after a step that can change grades (an ``autograde`` run, a recomputation of the late
penalties), :func:`snapshot` reads every cell's score and every submission's late penalty from
the gradebook, with what they depend on: the digests of the submission and of the graders the
kit stored when it graded it (``.gradekit/<assignment>/<student>.json``) and the student's due
date. :func:`compare` lists what differs, with the reason:

- ``submission changed``: the student's submitted files differ from those graded before;
- ``graders changed``: the course's graders differ from those that graded it before;
- ``deadline changed``: the due date or the student's extension moved;
- ``grade changed by hand``: none of these (a manual grade in the formgrader changed the score
  a late penalty is taken from).

:func:`record` appends the rows to ``.gradekit/<assignment>/changes.csv`` (every change of the
term, with its time) and writes the run's own ``changes.csv`` in its run folder.
``gradekit feedback --changed`` regenerates feedback only for students changed since their
feedback was last written (:func:`changed_since_feedback`).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from gradekit.batch.state import STATE_FOLDER
from gradekit.nbgrader.course import Course

COLUMNS = ("time", "student", "cell", "old", "new", "why")
#: The ``cell`` of a submission's late penalty in ``changes.csv``.
PENALTY = "late penalty"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Snapshot:
    """What the gradebook and the kit's grading state hold for one assignment.

    Attributes:
        cells: Score of each cell, by (student, ``<notebook>/<grade id>``).
        penalties: Late penalty of each submission, by student.
        due: Each student's due date (extension included).
        graded_from: The (submission, graders) digests each student was last graded with.
    """

    cells: dict[tuple[str, str], float]
    penalties: dict[str, float]
    due: dict[str, datetime | None]
    graded_from: dict[str, tuple[str, str]]


@dataclass(frozen=True)
class Change:
    """One changed grade: ``old`` or ``new`` is None where the cell had no grade."""

    student: str
    cell: str
    old: float | None
    new: float | None
    why: str


def snapshot(*, course: Course, assignment: str) -> Snapshot:
    """Read the assignment's grades, penalties, due dates and grading digests."""
    cells: dict[tuple[str, str], float] = {}
    penalties: dict[str, float] = {}
    due: dict[str, datetime | None] = {}
    coursedir = course.coursedir
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        try:
            submissions = list(gradebook.find_assignment(assignment).submissions)
        except MissingEntry:
            submissions = []
        for submission in submissions:
            student = submission.student.id
            due[student] = submission.duedate
            penalties[student] = round(
                sum(nb.late_submission_penalty or 0.0 for nb in submission.notebooks), 6
            )
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[(student, f"{notebook.name}/{grade.name}")] = round(grade.score, 6)
    graded_from = {}
    for path in (course.root / STATE_FOLDER / assignment).glob("*.json"):
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            graded_from[path.stem] = (saved["submission"], saved["graders"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return Snapshot(cells=cells, penalties=penalties, due=due, graded_from=graded_from)


def _why(before: Snapshot, after: Snapshot, student: str, *, penalty: bool) -> str:
    old, new = before.graded_from.get(student), after.graded_from.get(student)
    if penalty and before.due.get(student) != after.due.get(student):
        return "deadline changed"
    if old and new and old[0] != new[0]:
        return "submission changed"
    if old and new and old[1] != new[1]:
        return "graders changed"
    if old is None and new is not None:
        return "first graded"
    return "deadline changed" if penalty and not before.due else "grade changed by hand"


def compare(before: Snapshot, after: Snapshot) -> list[Change]:
    """Every cell score and late penalty that differs between two snapshots, with the reason."""
    changes = []
    for key in sorted(set(before.cells) | set(after.cells)):
        old, new = before.cells.get(key), after.cells.get(key)
        if old != new and old is not None:  # a first grading is not a change
            student, cell = key
            why = _why(before, after, student, penalty=False)
            changes.append(Change(student, cell, old, new, why))
    for student in sorted(set(before.penalties) & set(after.penalties)):
        old, new = before.penalties[student], after.penalties[student]
        if old != new:
            why = _why(before, after, student, penalty=True)
            changes.append(Change(student, PENALTY, old, new, why))
    return changes


def changes_file(course: Course, assignment: str) -> Path:
    """Every change of the assignment's grades this term."""
    return course.root / STATE_FOLDER / assignment / "changes.csv"


def record(
    *, course: Course, assignment: str, changes: list[Change], run_folder: Path | None = None
) -> Path | None:
    """Append ``changes`` to the assignment's ``changes.csv`` (and write the run's own).

    Returns:
        The run's ``changes.csv`` (or the assignment's without a run folder); None if nothing
        changed.
    """
    if not changes:
        return None
    now = datetime.now(UTC).strftime(TIME_FORMAT)
    rows = [[now, c.student, c.cell, _number(c.old), _number(c.new), c.why] for c in changes]
    targets = [changes_file(course, assignment)]
    if run_folder is not None:
        targets.append(run_folder / "changes.csv")
    for path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        with path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if fresh:
                writer.writerow(COLUMNS)
            writer.writerows(rows)
    return targets[-1]


def read_changes(course: Course, assignment: str) -> list[dict[str, str]]:
    """The rows of the assignment's ``changes.csv`` (none if there is no file)."""
    path = changes_file(course, assignment)
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def changed_since_feedback(*, course: Course, assignment: str) -> list[str]:
    """Students with a change recorded after their feedback was last written (or without
    feedback), in id order."""
    latest: dict[str, datetime] = {}
    for row in read_changes(course, assignment):
        when = datetime.strptime(row["time"], TIME_FORMAT).replace(tzinfo=UTC)
        latest[row["student"]] = max(when, latest.get(row["student"], when))
    students = []
    for student, when in sorted(latest.items()):
        folder = course.path("feedback", assignment=assignment, student=student)
        files = [p.stat().st_mtime for p in folder.rglob("*.html")] if folder.is_dir() else []
        written = datetime.fromtimestamp(min(files), UTC) if files else None
        if written is None or written <= when:
            students.append(student)
    return students


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
