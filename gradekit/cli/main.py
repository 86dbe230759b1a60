"""The instructor's command line: declares the options and hands off to the steps.

Every subcommand runs in the course folder (the one with ``nbgrader_config.py``, or ``--course``,
given before or after the subcommand, like ``--assignment``)::

    gradekit release                  # hidden-check counts into the source, then the release
    gradekit collect --lms canvas DOWNLOAD.zip   # an LMS download into submitted/ (adds only)
    gradekit autograde --jobs 2       # grade every submission (trusted graders), in parallel
    gradekit deadlines                # due dates, extensions, late penalties (recomputed)
    gradekit feedback                 # HTML feedback per student (feedback/), and zip archives
    gradekit export --format canvas   # grades an LMS imports; exports/checks.csv per check
    gradekit report                   # reports/<assignment>/report.html with plots
    gradekit scores                   # the gradebook's scores per student, penalties applied
    gradekit status                   # per assignment: collected, graded, stale, late, ...
    gradekit lab                      # JupyterLab with the formgrader, on 127.0.0.1
    gradekit demo                     # release to report on the bundled submissions

Exit codes: 0 when everything asked for was done, 1 when some submission could not be graded
(or another step failed; one line on stderr says which), 2 on misuse.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SAWarning

from gradekit.cli.commands import (
    UsageError,
    demo,
    report_folder,
    run_autograde,
    run_collect,
    run_export,
    run_feedback,
    run_status,
)
from gradekit.cli.output import console, errors, print_lateness, print_scores, say
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.deadlines import DeadlineError
from gradekit.nbgrader.gradebook import scores
from gradekit.term.lms import PRESET_NAMES
from gradekit.term.lms_export import FORMATS
from gradekit.term.steps import (
    StepFailed,
    export,
    feedback,
    last_failures,
    refresh_deadlines,
    release,
    report,
)

__all__ = ["build_parser", "export", "feedback", "last_failures", "main", "release", "report"]


def _absolute(text: str) -> Path:
    return Path(text).absolute()


def _version() -> str:
    """The version of the distribution that installs the ``gradekit`` package (whatever the
    course calls it), or ``unknown``."""
    for distribution in packages_distributions().get("gradekit", []):
        with contextlib.suppress(PackageNotFoundError):
            return version(distribution)
    return "unknown"


class _PrintVersion(argparse.Action):
    """``--version``: looked up only when asked (reading every distribution's files takes time)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **options: Any) -> None:
        options.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **options)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"gradekit {_version()}")
        parser.exit()


def _common() -> argparse.ArgumentParser:
    """Options every subcommand takes, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--course", type=_absolute, default=argparse.SUPPRESS, help="course folder (default: here)"
    )
    common.add_argument(
        "--assignment",
        default=argparse.SUPPRESS,
        help="assignment (default: c.GradeKit.default_assignment, else the only one)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log details"
    )
    common.add_argument(
        "--log-file", type=_absolute, default=argparse.SUPPRESS, help="also log to this file"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="gradekit", description=(__doc__ or "").splitlines()[0], parents=[common]
    )
    parser.add_argument("--version", action=_PrintVersion, help="show the kit's version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text, parents=[common])

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
    roster_help = "CSV of student_id,name,email,lms_id (default: roster.csv of the course, if any)"
    collect_parser.add_argument("--roster", type=_absolute, default=None, help=roster_help)
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
    command("deadlines", "due dates, extensions (extensions.csv) and late penalties, recomputed")
    feedback_parser = command(
        "feedback", "HTML feedback per student (generate_feedback) and zip archives"
    )
    feedback_parser.add_argument("students", nargs="*", help="students (default: all)")
    feedback_parser.add_argument("--roster", type=_absolute, default=None, help=roster_help)
    feedback_parser.add_argument(
        "--changed",
        action="store_true",
        help="only students whose grades changed since their feedback (changes.csv)",
    )
    feedback_parser.add_argument(
        "--lms",
        choices=("canvas", "moodle", "none"),
        default="none",
        help="also one bulk archive named for this LMS's feedback upload",
    )
    export_parser = command("export", "grades for an LMS, grades.csv and the per-check CSV")
    export_parser.add_argument(
        "--to", type=_absolute, default=None, help="folder (default: exports)"
    )
    export_parser.add_argument(
        "--format", choices=FORMATS, default="csv", help="grades file for this LMS (default: csv)"
    )
    export_parser.add_argument("--roster", type=_absolute, default=None, help=roster_help)
    report_parser = command("report", "HTML report with plots")
    report_parser.add_argument(
        "--to", type=_absolute, default=None, help="folder (default: reports/<assignment>)"
    )
    command("scores", "print the scores in the gradebook (late penalties applied)")
    command("status", "per assignment: collected, graded, stale, late, graded by hand, feedback")
    lab_parser = command("lab", "JupyterLab with the formgrader for this course, on 127.0.0.1")
    lab_parser.add_argument("--port", type=int, default=8888, help="port on 127.0.0.1")
    lab_parser.add_argument("--token", default=None, help="default: $LAB_TOKEN or random")
    return parser


def _logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if getattr(args, "log_file", None) else level)
    if getattr(args, "verbose", False):
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(level)
        root.addHandler(stream)
    if getattr(args, "log_file", None):
        handler = logging.FileHandler(args.log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)


@contextlib.contextmanager
def _process_state_kept() -> Iterator[None]:
    """Whatever a command changes of the process (working folder, ``PATH``, warning filters,
    the root logger) is as it was afterwards: ``main`` can be called from other code and tests."""
    folder, path = os.getcwd(), os.environ.get("PATH")
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with warnings.catch_warnings():
            yield
    finally:
        os.chdir(folder)
        if path is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = path
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with _process_state_kept():
        _logging(args)
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        course = Course.find(getattr(args, "course", None))
        if not (course.root / course.coursedir.source_directory).is_dir():
            raise UsageError(f"no source/ folder in {course.root}: nothing to release or grade")
    except (FileNotFoundError, UsageError) as error:
        errors.print(f"gradekit {args.command}: {error}", markup=False)
        return 2
    # nbgrader's apps read nbgrader_config.py from the working folder and run helper commands
    # (alembic) by name: work in the course, with this environment's commands first.
    os.chdir(course.root)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    # nbgrader's gradebook code triggers SQLAlchemy autoflush warnings in normal operation.
    warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
    assignments = course.assignments
    chosen = getattr(args, "assignment", None)
    only = assignments[0] if len(assignments) == 1 else None
    assignment = chosen or course.settings.default_assignment or only
    if assignment is None or assignment not in assignments:
        problem = f"no assignment {chosen!r} in source/" if chosen else "several assignments"
        errors.print(
            f"gradekit {args.command}: {problem} ({', '.join(assignments)}): pass --assignment",
            markup=False,
        )
        return 2
    try:
        return _dispatch(args, course, assignment)
    except UsageError as error:
        errors.print(f"gradekit {args.command}: {error}", markup=False)
        return 2
    except (StepFailed, DeadlineError) as error:
        errors.print(f"gradekit {args.command}: {error}", markup=False)
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
    elif args.command == "deadlines":
        print_lateness(refresh_deadlines(course=course, assignment=assignment))
    elif args.command == "feedback":
        return run_feedback(course=course, assignment=assignment, args=args)
    elif args.command == "export":
        return run_export(course=course, assignment=assignment, args=args)
    elif args.command == "report":
        folder = args.to or report_folder(course, assignment)
        say(f"wrote {report(course=course, assignment=assignment, folder=folder)}")
    elif args.command == "scores":
        lateness = refresh_deadlines(course=course, assignment=assignment)
        print_scores(scores(course=course, assignment=assignment), lateness)
    elif args.command == "status":
        return run_status(course=course)
    elif args.command == "lab":
        from gradekit.cli.lab import serve

        return serve(course=course, port=args.port, token=args.token)
    else:
        return demo(course=course, assignment=assignment, args=args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
