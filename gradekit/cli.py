"""The instructor's command line: a thin layer over nbgrader's apps and the kit's functions.

Every subcommand runs in the course folder (the one with ``nbgrader_config.py``, or ``--course``)::

    gradekit release                  # hidden-check counts into the source, then the release
    gradekit collect --lms canvas DOWNLOAD.zip   # an LMS download into submitted/ (adds only)
    gradekit autograde --jobs 2       # grade every submission (trusted graders), in parallel
    gradekit feedback                 # HTML feedback per student (feedback/)
    gradekit export                   # exports/grades.csv (nbgrader's) and exports/checks.csv
    gradekit report                   # reports/<assignment>/report.html with plots
    gradekit scores                   # the gradebook's scores per student
    gradekit demo                     # all of the above on the bundled submissions

Exit codes: 0 when everything asked for was done, 1 when some submission could not be graded
(or another step failed; a summary says which), 2 on misuse.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from nbgrader.apps import ExportApp
from nbgrader.utils import capture_log
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.exc import SAWarning

from gradekit import report as reports
from gradekit.batch import STATE_FOLDER, BatchSummary, StudentRun, autograde_class
from gradekit.collect import CollectFailed, CollectUsageError, collect_download, report_lines
from gradekit.course import Course, update_hidden_check_counts
from gradekit.gradebook import StudentScore, scores
from gradekit.grading import count_checks
from gradekit.lms import PRESET_NAMES
from gradekit.notebook import read_notebook

console = Console()
#: Expected failures: one line on stderr.
errors = Console(stderr=True, soft_wrap=True, highlight=False)
#: Per-student rows printed in a batch summary before it lists only the submissions with problems.
FULL_TABLE_LIMIT = 40


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
    folder.mkdir(parents=True, exist_ok=True)
    grades = folder / "grades.csv"
    config = copy.deepcopy(course.config)
    config.CsvExportPlugin.to = str(grades)
    app = ExportApp(config=config)
    app.initialize([])
    result = capture_log(app)
    if not result["success"]:
        raise StepFailed(f"nbgrader export failed:\n{result.get('log', '')[-2000:]}")
    checks = reports.write_check_csv(
        results=reports.collect_results(course=course, assignment=assignment),
        path=folder / "checks.csv",
    )
    return grades, checks


def report(*, course: Course, assignment: str, folder: Path) -> Path:
    """The class report (HTML and PNG plots) from the autograded notebooks and the gradebook.

    Returns:
        The HTML file.
    """
    results = reports.collect_results(course=course, assignment=assignment)
    graded = {student.student for student in results.students}
    not_graded = {
        student: reason
        for student, reason in last_failures(course=course, assignment=assignment).items()
        if student not in graded
    }
    for student in course.students(assignment):
        if student not in graded:
            not_graded.setdefault(student, "submitted but not autograded yet")
    return reports.write_report(
        results=results,
        folder=folder,
        gradebook_totals=reports.gradebook_totals(course=course, assignment=assignment),
        not_graded=not_graded,
    )


def last_failures(*, course: Course, assignment: str) -> dict[str, str]:
    """Students the last batch could not grade, with the reason (from its saved summary)."""
    path = course.root / STATE_FOLDER / assignment / "last_batch.json"
    try:
        runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
    except (OSError, ValueError, KeyError):
        return {}
    return {run["student"]: "; ".join(run["problems"]) for run in runs if run["status"] == "failed"}


def save_summary(*, course: Course, summary: BatchSummary) -> Path:
    """Keep a batch's summary next to the grading state (the report lists its failures)."""
    path = course.root / STATE_FOLDER / summary.assignment / "last_batch.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "assignment": summary.assignment,
        "seconds": round(summary.seconds, 1),
        "workers": summary.workers,
        "runs": [vars(run) for run in summary.runs],
    }
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


# -- presentation ---------------------------------------------------------------------------------


class ProgressBar:
    """A live progress bar (students done / total, failures, ETA) on a terminal."""

    def __init__(self) -> None:
        self.failed = 0
        self.progress = Progress(
            TextColumn("[bold]autograding"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task("autograde", total=None, failed=0)

    def started(self, *, total: int, skipped: int, workers: int) -> None:
        console.print(_start_line(total=total, skipped=skipped, workers=workers))
        self.progress.update(self.task, total=total - skipped)
        self.progress.start()

    def finished(self, run: StudentRun) -> None:
        self.failed += run.status == "failed"
        self.progress.update(self.task, advance=1, failed=self.failed)
        if run.status == "failed":
            self.progress.console.print(f"[red]could not grade {run.student}[/red]: {run.problems}")

    def close(self) -> None:
        self.progress.stop()


class LogLines:
    """One plain line per finished submission (when the output is not a terminal)."""

    def __init__(self) -> None:
        self.done = 0
        self.failed = 0
        self.total = 0
        self.start = time.monotonic()

    def started(self, *, total: int, skipped: int, workers: int) -> None:
        self.total = total - skipped
        print(_start_line(total=total, skipped=skipped, workers=workers), flush=True)

    def finished(self, run: StudentRun) -> None:
        self.done += 1
        self.failed += run.status == "failed"
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        detail = f": {'; '.join(run.problems)}" if run.problems else ""
        print(
            f"[{self.done}/{self.total}] {run.status} {run.student} in {run.seconds:.1f} s"
            f"{detail} ({self.failed} failed, about {left:.0f} s left)",
            flush=True,
        )

    def close(self) -> None:
        pass


def print_summary(summary: BatchSummary, table_scores: dict[str, StudentScore]) -> None:
    """The batch's summary: one row per student (or per student with problems, for a big class)."""
    counts = ", ".join(
        f"{summary.count(status)} {status}" for status in ("graded", "skipped", "failed")
    )
    console.print(
        f"{summary.assignment}: {counts} in {summary.seconds:.0f} s with "
        f"{_count(summary.workers, 'worker')}"
    )
    runs = summary.runs
    if len(runs) > FULL_TABLE_LIMIT:
        runs = [run for run in runs if run.problems or run.status == "failed"]
    if not runs:
        return
    table = Table(title="Autograding summary")
    for column in ("student", "status", "score", "seconds", "what happened"):
        table.add_column(column, justify="right" if column in ("score", "seconds") else "left")
    for run in runs:
        score = table_scores.get(run.student)
        points = f"{score.score:.2f} / {score.max_score:g}" if score else "-"
        seconds = f"{run.seconds:.1f}" if run.seconds else "-"
        table.add_row(run.student, run.status, points, seconds, "\n".join(run.problems))
    console.print(table)


def print_scores(rows: Sequence[StudentScore]) -> None:
    table = Table(title="Scores")
    table.add_column("student")
    notebooks = sorted({name for row in rows for name in row.notebooks})
    for name in notebooks:
        table.add_column(name.split("_")[0], justify="right")
    table.add_column("total", justify="right")
    for row in rows:
        cells = [f"{row.notebooks.get(name, 0):.2f}" for name in notebooks]
        table.add_row(row.student, *cells, f"{row.score:.2f} / {row.max_score:g}")
    console.print(table)


def say(text: str) -> None:
    """One line of plain text (no markup, never wrapped)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


# -- the command line -----------------------------------------------------------------------------


def run_autograde(*, course: Course, assignment: str, args: argparse.Namespace) -> int:
    observer = ProgressBar() if console.is_terminal else LogLines()
    try:
        summary = autograde_class(
            course=course,
            assignment=assignment,
            students=getattr(args, "students", None) or None,
            jobs=args.jobs,
            scheduler=args.scheduler,
            force=args.force,
            grades_only=args.grades_only,
            observer=observer,
        )
    finally:
        observer.close()
    save_summary(course=course, summary=summary)
    by_student = {row.student: row for row in scores(course=course, assignment=assignment)}
    print_summary(summary, by_student)
    return 1 if summary.failed else 0


def run_collect(*, course: Course, assignment: str, args: argparse.Namespace) -> int:
    """``gradekit collect``: 0 when some file was a known student's notebook, 1 when none was,
    2 when the arguments cannot be used."""
    try:
        result = collect_download(
            course=course,
            assignment=assignment,
            downloads=args.downloads,
            lms=args.lms,
            roster=args.roster,
        )
    except CollectUsageError as error:
        errors.print(f"gradekit collect: {error}", markup=False)
        return 2
    except CollectFailed as error:
        errors.print(f"gradekit collect: {error}", markup=False)
        return 1
    for line in report_lines(result, root=course.root, students=course.students(assignment)):
        say(line)
    if not result.matched:
        names = ", ".join(path.name for path in args.downloads)
        errors.print(
            f"gradekit collect: no file of {names} is a known student's notebook of "
            f"{assignment} (see above why each was skipped)",
            markup=False,
        )
        return 1
    return 0


def _start_line(*, total: int, skipped: int, workers: int) -> str:
    return f"{_count(total, 'submission')}, {skipped} already graded, {_count(workers, 'worker')}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def demo(*, course: Course, assignment: str, args: argparse.Namespace) -> int:
    """Release, autograde the bundled submissions, feedback, export and report."""
    release(course=course, assignment=assignment)
    console.print(f"released {assignment}")
    status = run_autograde(course=course, assignment=assignment, args=args)
    folder = feedback(course=course, assignment=assignment)
    grades, checks = export(course=course, assignment=assignment, folder=course.root / "exports")
    page = report(course=course, assignment=assignment, folder=_report_folder(course, assignment))
    print_scores(scores(course=course, assignment=assignment))
    for what, path in (
        ("feedback", folder),
        ("grades", grades),
        ("per-check results", checks),
        ("report", page),
    ):
        console.print(f"{what}: {path.relative_to(course.root)}")
    return status


def _report_folder(course: Course, assignment: str) -> Path:
    return course.root / "reports" / assignment


def _absolute(text: str) -> Path:
    return Path(text).absolute()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradekit", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--course", type=Path, default=None, help="course folder (default: here)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--assignment", default=None, help="assignment (default: the only one)")
        return sub

    command("release", "update hidden-check counts and generate the student version")
    collect_parser = command(
        "collect", "import an LMS download into submitted/ (adds only; replaced files kept)"
    )
    # Absolute at parsing: main() then works in the course folder.
    collect_parser.add_argument("downloads", nargs="+", type=_absolute, help="the LMS's zip files")
    collect_parser.add_argument(
        "--lms",
        default="regex",
        metavar="{" + ",".join(PRESET_NAMES) + "}",
        help="how the LMS names the files (default: regex, nbgrader's "
        "c.FileNameCollectorPlugin.named_regexp)",
    )
    collect_parser.add_argument(
        "--roster",
        type=_absolute,
        default=None,
        help="CSV of student_id,name,email,lms_id (default: roster.csv of the course, if any)",
    )
    for name, text in (
        ("autograde", "grade the submissions (trusted graders, sandboxed, in parallel)"),
        ("demo", "release, autograde the bundled submissions, feedback, export, report"),
    ):
        sub = command(name, text)
        if name == "autograde":
            sub.add_argument("students", nargs="*", help="students to grade (default: all)")
        sub.add_argument(
            "--jobs", type=int, default=None, help="submissions at once (default: cores)"
        )
        sub.add_argument("--scheduler", help="address of a Dask scheduler to run the jobs on")
        sub.add_argument("--force", action="store_true", help="grade again what was already graded")
        sub.add_argument(
            "--grades-only",
            action="store_true",
            help="grades from the definitions only, without executing the notebooks",
        )
    feedback_parser = command("feedback", "HTML feedback per student (generate_feedback)")
    feedback_parser.add_argument("students", nargs="*", help="students (default: all)")
    export_parser = command("export", "grades.csv and the per-check CSV")
    export_parser.add_argument("--to", type=Path, default=None, help="folder (default: exports)")
    report_parser = command("report", "HTML report with plots")
    report_parser.add_argument(
        "--to", type=Path, default=None, help="folder (default: reports/<assignment>)"
    )
    command("scores", "print the scores in the gradebook")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        course = Course.find(args.course)
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    # nbgrader's apps read nbgrader_config.py from the working folder and run helper commands
    # (alembic) by name: work in the course, with this environment's commands first.
    os.chdir(course.root)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    # nbgrader's gradebook code triggers SQLAlchemy autoflush warnings in normal operation.
    warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
    assignments = course.assignments
    only = assignments[0] if len(assignments) == 1 else None
    assignment = args.assignment or course.settings.default_assignment or only
    if assignment is None:
        console.print(f"[red]several assignments ({', '.join(assignments)}): pass --assignment")
        return 2
    try:
        return _dispatch(args, course, assignment)
    except StepFailed as error:
        console.print(f"[red]{error}[/red]")
        return 1


def _dispatch(args: argparse.Namespace, course: Course, assignment: str) -> int:
    if args.command == "release":
        for path in release(course=course, assignment=assignment):
            console.print(f"updated hidden-check counts in {path.name}")
        console.print(f"released {assignment} to {course.path('release', assignment=assignment)}")
    elif args.command == "collect":
        return run_collect(course=course, assignment=assignment, args=args)
    elif args.command == "autograde":
        return run_autograde(course=course, assignment=assignment, args=args)
    elif args.command == "feedback":
        folder = feedback(course=course, assignment=assignment, students=args.students)
        console.print(f"feedback in {folder}")
    elif args.command == "export":
        folder = args.to or course.root / "exports"
        for path in export(course=course, assignment=assignment, folder=folder):
            console.print(f"wrote {path}")
    elif args.command == "report":
        folder = args.to or _report_folder(course, assignment)
        console.print(f"wrote {report(course=course, assignment=assignment, folder=folder)}")
    elif args.command == "scores":
        print_scores(scores(course=course, assignment=assignment))
    else:
        return demo(course=course, assignment=assignment, args=args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
