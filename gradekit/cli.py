"""The instructor's command line: a thin layer over nbgrader's API and the kit's functions.

Every subcommand runs inside the course folder (the one with ``nbgrader_config.py``)::

    gradekit release              # hidden-check counts into the source, then the student version
    gradekit autograde            # grade every submitted notebook (trusted graders)
    gradekit scores               # the gradebook's scores per student
    gradekit demo                 # release + autograde the bundled submissions + scores

Exit codes: 0 when everything was graded, 1 when some submission could not be, 2 on misuse.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
from rich.console import Console
from rich.table import Table

from gradekit.course import Course, update_hidden_check_counts
from gradekit.gradebook import StudentScore, scores
from gradekit.grading import count_checks
from gradekit.nbgrader_plugin import read_results
from gradekit.notebook import read_notebook

console = Console()


def release(*, course: Course, assignment: str) -> list[Path]:
    """Update the hidden-check counts in the source notebooks, then generate the release.

    Returns:
        The source notebooks whose counts changed.
    """
    notebooks = course.notebooks(assignment)
    grade_ids = [gid for path in notebooks for gid in read_notebook(path).autograded_ids]
    counts = count_checks(course.suite, grade_ids)
    changed = [path for path in notebooks if update_hidden_check_counts(path, counts)]
    result = course.api().generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.get('error', '')}")
    return changed


def autograde(
    *, course: Course, assignment: str, students: Sequence[str] | None = None
) -> list[str]:
    """Autograde submissions one after another with nbgrader (and the kit's trusted graders).

    Prints, per student, the wall time and the part of it the trusted checks took.

    Returns:
        The students whose submission could not be graded.
    """
    api = course.api()
    failed = []
    for student in students or course.students(assignment):
        started = time.monotonic()
        result = api.autograde(assignment, student, force=True, create=True)
        seconds = time.monotonic() - started
        if not result["success"]:
            failed.append(student)
            console.print(f"[red]could not grade {student}[/red]: {result.get('error', '')[-400:]}")
            continue
        folder = course.path("autograded", assignment=assignment, student=student)
        checks = sum(
            graded.seconds
            for path in folder.glob("*.ipynb")
            if (graded := read_results(nbformat.read(path, as_version=4))) is not None
        )
        console.print(f"graded {student} in {seconds:.1f} s (trusted checks: {checks:.1f} s)")
    return failed


def print_scores(rows: list[StudentScore]) -> None:
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


def demo(*, course: Course, assignment: str) -> int:
    """Release, autograde the bundled submissions, print the scores."""
    release(course=course, assignment=assignment)
    failed = autograde(course=course, assignment=assignment)
    print_scores(scores(course=course, assignment=assignment))
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gradekit", description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=None, help="course folder (default: here)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("release", "update hidden-check counts and generate the student version"),
        ("autograde", "grade the submitted notebooks"),
        ("scores", "print the scores in the gradebook"),
        ("demo", "release, autograde the bundled submissions and print the scores"),
    ]:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument(
            "--assignment", default=None, help="assignment name (default: the only one)"
        )
        if name == "autograde":
            sub.add_argument("students", nargs="*", help="students to grade (default: all)")
    args = parser.parse_args(argv)
    course = Course.find(args.course)
    # nbgrader runs helper commands (alembic) by name: make this environment's ones visible.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    assignment = args.assignment or _only_assignment(course)
    if args.command == "release":
        for path in release(course=course, assignment=assignment):
            console.print(f"updated hidden-check counts in {path.name}")
        console.print(f"released {assignment} to {course.path('release', assignment=assignment)}")
        return 0
    if args.command == "autograde":
        failed = autograde(course=course, assignment=assignment, students=args.students or None)
        return 1 if failed else 0
    if args.command == "scores":
        print_scores(scores(course=course, assignment=assignment))
        return 0
    return demo(course=course, assignment=assignment)


def _only_assignment(course: Course) -> str:
    assignments = course.assignments
    if len(assignments) != 1:
        raise SystemExit(f"several assignments ({', '.join(assignments)}): pass --assignment")
    return assignments[0]


if __name__ == "__main__":
    sys.exit(main())
