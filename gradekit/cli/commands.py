"""What each subcommand does with its parsed options (the parser is in :mod:`gradekit.cli.main`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gradekit.batch.changes import changed_since_feedback, compare, record, snapshot
from gradekit.batch.dask_run import autograde_class
from gradekit.cli.output import (
    LogLines,
    ProgressBar,
    console,
    errors,
    print_scores,
    print_summary,
    say,
)
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.deadlines import apply_deadlines
from gradekit.nbgrader.gradebook import scores
from gradekit.sandbox.isolation import choose_isolation
from gradekit.term.collect import CollectFailed, CollectUsageError, collect_download, report_lines
from gradekit.term.lms_export import export_grades, write_feedback_archives
from gradekit.term.roster import Roster, RosterError
from gradekit.term.status import assignment_status
from gradekit.term.steps import (
    export,
    feedback,
    new_run_folder,
    refresh_deadlines,
    release,
    report,
    save_summary,
)

log = logging.getLogger("gradekit")


class UsageError(ValueError):
    """The arguments cannot be used (one line for the instructor; exit code 2)."""


def run_autograde(*, course: Course, assignment: str, args: argparse.Namespace) -> int:
    students = list(getattr(args, "students", None) or [])
    unknown = sorted(set(students) - set(course.students(assignment)))
    if unknown:
        raise UsageError(
            f"no submission of {assignment} for {', '.join(unknown)} (submitted/ has "
            f"{len(course.students(assignment))} students; `gradekit status` counts them)"
        )
    if not course.path("release", assignment=assignment).is_dir():
        raise UsageError(f"{assignment} is not released yet: run `gradekit release` first")
    refresh_deadlines(course=course, assignment=assignment)
    before = snapshot(course=course, assignment=assignment)
    folder = new_run_folder(course=course, assignment=assignment)
    handler = logging.FileHandler(folder / "autograde.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    isolation = choose_isolation(course.settings.isolation).name
    observer = ProgressBar() if console.is_terminal else LogLines()
    try:
        summary = autograde_class(
            course=course,
            assignment=assignment,
            students=students or None,
            jobs=args.jobs,
            scheduler=args.scheduler,
            force=args.force,
            grades_only=args.grades_only,
            observer=observer,
        )
    finally:
        observer.close()
        logging.getLogger().removeHandler(handler)
        handler.close()
    for run in summary.runs:
        log.info("%s %s in %.1f s on %s", run.student, run.status, run.seconds, run.worker)
    save_summary(folder=folder, summary=summary, isolation=isolation)
    with (folder / "autograde.log").open("a", encoding="utf-8") as handle:
        for run in summary.runs:
            problems = "; ".join(run.problems)
            handle.write(
                f"{run.student}\t{run.status}\t{run.seconds:.1f} s\t{run.worker or '-'}\t"
                f"{isolation}\t{problems}\n"
            )
    # Penalties of this run's submissions are recorded with the run's other changes.
    apply_deadlines(course=course, assignment=assignment)
    changes = compare(before, snapshot(course=course, assignment=assignment))
    record(course=course, assignment=assignment, changes=changes, run_folder=folder)
    by_student = {row.student: row for row in scores(course=course, assignment=assignment)}
    print_summary(summary, by_student, isolation=isolation)
    changed = sorted({change.student for change in changes})
    say(f"run record: {folder.relative_to(course.root)}")
    if changed:
        say(
            f"{len(changes)} grades changed ({', '.join(changed)}): see changes.csv there; "
            "`gradekit feedback --changed` regenerates their feedback"
        )
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


def run_feedback(*, course: Course, assignment: str, args: argparse.Namespace) -> int:
    chosen = list(args.students)  # none: every student, in one nbgrader call
    unknown = sorted(set(chosen) - set(course.students(assignment)))
    if unknown:
        raise UsageError(f"no submission of {assignment} for {', '.join(unknown)}")
    if args.changed:
        chosen = changed_since_feedback(course=course, assignment=assignment)
        if not chosen:
            say("no grade changed since the feedback was written")
            return 0
        say(f"feedback again for {', '.join(chosen)} (grades changed)")
    folder = feedback(course=course, assignment=assignment, students=chosen)
    students = chosen or course.students(assignment)
    say(f"feedback in {folder}")
    archives = write_feedback_archives(
        course=course,
        assignment=assignment,
        folder=course.root / "exports" / "feedback" / assignment,
        students=students,
        roster=_roster(course, args.roster),
        lms=args.lms,
    )
    say(f"{len(archives.students)} student archives in exports/feedback/{assignment}/")
    if archives.bulk is not None:
        say(f"bulk upload for {args.lms}: {archives.bulk.relative_to(course.root)}")
    return 0


def run_export(*, course: Course, assignment: str, args: argparse.Namespace) -> int:
    folder = args.to or course.root / "exports"
    roster = _roster(course, args.roster)
    if args.format != "csv" and roster is None:
        raise UsageError(f"--format {args.format} needs the LMS ids: give --roster (or roster.csv)")
    for path in export(course=course, assignment=assignment, folder=folder):
        say(f"wrote {path}")
    done = export_grades(
        course=course, assignment=assignment, fmt=args.format, folder=folder, roster=roster
    )
    say(f"wrote {done.path} ({done.rows} students)")
    if done.not_in_roster:
        errors.print(
            f"gradekit export: not in the roster (no LMS id): {', '.join(done.not_in_roster)}",
            markup=False,
        )
    return 0


def run_status(*, course: Course) -> int:
    for name in course.assignments:
        state = assignment_status(course=course, assignment=name)
        say(
            f"{name}: {'released' if state.released else 'not released'}, "
            f"{state.collected} collected, {state.graded} graded ({state.stale} stale), "
            f"{state.late} late, {state.manually_graded} graded by hand "
            f"({state.needs_manual_grade} waiting), feedback for {state.feedback}"
        )
    return 0


def _roster(course: Course, given: Path | None) -> Roster | None:
    path = given or course.root / "roster.csv"
    if given is not None and not given.is_file():
        raise UsageError(f"no such roster: {given}")
    try:
        return Roster.read(path) if path.is_file() else None
    except RosterError as error:
        raise UsageError(str(error)) from None


def demo(*, course: Course, assignment: str, args: argparse.Namespace) -> int:
    """Release, autograde the bundled submissions, feedback, export and report."""
    release(course=course, assignment=assignment)
    console.print(f"released {assignment}")
    status = run_autograde(course=course, assignment=assignment, args=args)
    folder = feedback(course=course, assignment=assignment)
    grades, checks = export(course=course, assignment=assignment, folder=course.root / "exports")
    page = report(course=course, assignment=assignment, folder=report_folder(course, assignment))
    lateness = refresh_deadlines(course=course, assignment=assignment)
    print_scores(scores(course=course, assignment=assignment), lateness)
    for what, path in (
        ("feedback", folder),
        ("grades", grades),
        ("per-check results", checks),
        ("report", page),
    ):
        console.print(f"{what}: {path.relative_to(course.root)}")
    return status


def report_folder(course: Course, assignment: str) -> Path:
    return course.root / "reports" / assignment
