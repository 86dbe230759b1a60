"""The steps of the nbgrader cycle as keyword-only functions (the CLI only declares options).

Every step that shows or exports scores first recomputes the late penalties
(:func:`gradekit.nbgrader.deadlines.apply_deadlines`), so a changed due date or extension shows
everywhere without grading again.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.apps import ExportApp
from nbgrader.utils import capture_log

from gradekit.batch.changes import compare, record, snapshot
from gradekit.batch.dask_run import BatchSummary
from gradekit.batch.state import STATE_FOLDER
from gradekit.checks.grading import count_checks
from gradekit.core.notebook import read_notebook
from gradekit.nbgrader.course import Course, update_hidden_check_counts
from gradekit.nbgrader.deadlines import Lateness, apply_deadlines
from gradekit.term.report.checks_csv import write_check_csv
from gradekit.term.report.html import write_report
from gradekit.term.report.results import collect_results, gradebook_totals

#: Each autograde run's folder: ``.gradekit/<assignment>/runs/<time>/`` (never overwritten).
RUNS = "runs"
RUN_TIME_FORMAT = "%Y-%m-%dT%H-%M-%S"


class StepFailed(RuntimeError):
    """A step of the nbgrader cycle failed (the message says which and why)."""


# -- the steps, as keyword-only functions ---------------------------------------------------------


def release(*, course: Course, assignment: str) -> list[Path]:
    """Update the hidden-check counts in the source notebooks, then generate the release.

    Returns:
        The source notebooks whose counts changed.
    """
    notebooks = course.notebooks(assignment)
    grade_ids = [gid for path in notebooks for gid in read_notebook(path).autograded_ids]
    counts = count_checks(course.suite(assignment), grade_ids)
    changed = [path for path in notebooks if update_hidden_check_counts(path, counts)]
    result = course.api().generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        log = result.get("log", "")
        if "because there are submissions associated with it" in log:
            # nbgrader keeps a notebook's cells once it has graded submissions of it.
            raise StepFailed(
                f"nbgrader generate_assignment failed: the gradebook "
                f"({course.coursedir.db_url}) holds graded submissions of an earlier version of "
                f"{assignment} whose cells differ. Move the gradebook away to start afresh (for "
                f"the bundled demo submissions: `make clean`), or keep the earlier cells."
            )
        raise StepFailed(f"nbgrader generate_assignment failed:\n{result.get('error', '')}")
    return changed


def feedback(*, course: Course, assignment: str, students: Sequence[str] = ()) -> Path:
    """nbgrader's ``generate_feedback`` (HTML per student, with the kit's messages).

    Returns:
        The folder that holds the feedback.
    """
    refresh_deadlines(course=course, assignment=assignment)
    api = course.api()
    targets: Sequence[str | None] = students or [None]  # None: every student
    for student in targets:
        result = api.generate_feedback(assignment, student)
        if not result["success"]:
            raise StepFailed(f"nbgrader generate_feedback failed:\n{result.get('error', '')}")
    return course.root / course.coursedir.feedback_directory


def export(*, course: Course, assignment: str, folder: Path) -> tuple[Path, Path]:
    """nbgrader's ``grades.csv`` (totals, manual grades included) and the kit's per-check CSV.

    Returns:
        The two CSV files.
    """
    refresh_deadlines(course=course, assignment=assignment)
    folder.mkdir(parents=True, exist_ok=True)
    grades = folder / "grades.csv"
    config = copy.deepcopy(course.config)
    config.CsvExportPlugin.to = str(grades)
    app = ExportApp(config=config)
    app.initialize([])
    result = capture_log(app)
    if not result["success"]:
        raise StepFailed(f"nbgrader export failed:\n{result.get('log', '')[-2000:]}")
    checks = write_check_csv(
        results=collect_results(course=course, assignment=assignment),
        path=folder / "checks.csv",
    )
    return grades, checks


def report(*, course: Course, assignment: str, folder: Path) -> Path:
    """The class report (HTML and PNG plots) from the autograded notebooks and the gradebook.

    Returns:
        The HTML file.
    """
    results = collect_results(course=course, assignment=assignment)
    graded = {student.student for student in results.students}
    not_graded = {
        student: reason
        for student, reason in last_failures(course=course, assignment=assignment).items()
        if student not in graded
    }
    for student in course.students(assignment):
        if student not in graded:
            not_graded.setdefault(student, "submitted but not autograded yet")
    lateness = refresh_deadlines(course=course, assignment=assignment)
    return write_report(
        results=results,
        folder=folder,
        gradebook_totals=gradebook_totals(course=course, assignment=assignment),
        not_graded=not_graded,
        late={row.student: (row.describe(), row.penalty) for row in lateness if row.late},
        isolation=last_isolation(course=course, assignment=assignment),
    )


def run_folders(*, course: Course, assignment: str) -> list[Path]:
    """The assignment's autograde runs, oldest first."""
    folder = course.root / STATE_FOLDER / assignment / RUNS
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def new_run_folder(*, course: Course, assignment: str) -> Path:
    """A fresh folder for one autograde run (its log and summary), named by its start time."""
    base = course.root / STATE_FOLDER / assignment / RUNS
    stamp = datetime.now(UTC).strftime(RUN_TIME_FORMAT)
    folder, number = base / stamp, 1
    while folder.exists():
        number += 1
        folder = base / f"{stamp}_{number}"
    folder.mkdir(parents=True)
    return folder


def last_failures(*, course: Course, assignment: str) -> dict[str, str]:
    """Students the last batch could not grade, with the reason (from its saved summary)."""
    runs = run_folders(course=course, assignment=assignment)
    try:
        data = json.loads((runs[-1] / "summary.json").read_text(encoding="utf-8"))["runs"]
    except (IndexError, OSError, ValueError, KeyError):
        return {}
    return {run["student"]: "; ".join(run["problems"]) for run in data if run["status"] == "failed"}


def last_isolation(*, course: Course, assignment: str) -> str:
    """How the last run that recorded it confined student code ("" if none did)."""
    for folder in reversed(run_folders(course=course, assignment=assignment)):
        try:
            data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return str(data.get("isolation", ""))
    return ""


def save_summary(*, folder: Path, summary: BatchSummary, isolation: str) -> Path:
    """Keep a batch's summary in its run folder (the report lists its failures).

    Each submission's record has its worker, its time, its problems and the isolation mode
    (``bubblewrap`` or ``rlimits``) student code ran under.
    """
    path = folder / "summary.json"
    data = {
        "assignment": summary.assignment,
        "seconds": round(summary.seconds, 1),
        "workers": summary.workers,
        "isolation": isolation,
        "runs": [{**vars(run), "isolation": isolation} for run in summary.runs],
    }
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def refresh_deadlines(*, course: Course, assignment: str) -> list[Lateness]:
    """Recompute the late penalties (:func:`gradekit.nbgrader.deadlines.apply_deadlines`); what
    changed is recorded in ``changes.csv``."""
    before = snapshot(course=course, assignment=assignment)
    rows = apply_deadlines(course=course, assignment=assignment)
    record(
        course=course,
        assignment=assignment,
        changes=compare(before, snapshot(course=course, assignment=assignment)),
    )
    return rows
