"""What the CLI shows: progress, the batch summary, score and lateness tables."""

from __future__ import annotations

import time
from collections.abc import Sequence

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

from gradekit.batch.dask_run import BatchSummary, StudentRun
from gradekit.nbgrader.deadlines import Lateness
from gradekit.nbgrader.gradebook import StudentScore

console = Console()
#: Expected failures: one line on stderr.
errors = Console(stderr=True, soft_wrap=True, highlight=False)
#: Per-student rows printed in a batch summary before it lists only the submissions with problems.
FULL_TABLE_LIMIT = 40


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


def print_summary(
    summary: BatchSummary, table_scores: dict[str, StudentScore], *, isolation: str
) -> None:
    """The batch's summary: one row per student (or per student with problems, for a big class)."""
    counts = ", ".join(
        f"{summary.count(status)} {status}" for status in ("graded", "skipped", "failed")
    )
    console.print(
        f"{summary.assignment}: {counts} in {summary.seconds:.0f} s with "
        f"{_count(summary.workers, 'worker')}, student code isolated by {isolation}"
    )
    runs = summary.runs
    if len(runs) > FULL_TABLE_LIMIT:
        runs = [run for run in runs if run.problems or run.status == "failed"]
    if not runs:
        return
    table = Table(title="Autograding summary")
    for column in ("student", "status", "score", "seconds", "worker", "isolation", "what happened"):
        table.add_column(column, justify="right" if column in ("score", "seconds") else "left")
    for run in runs:
        score = table_scores.get(run.student)
        points = f"{score.score:.2f} / {score.max_score:g}" if score else "-"
        seconds = f"{run.seconds:.1f}" if run.seconds else "-"
        table.add_row(
            run.student,
            run.status,
            points,
            seconds,
            run.worker or "-",
            isolation,
            "\n".join(run.problems),
        )
    console.print(table)


def print_scores(rows: Sequence[StudentScore], lateness: Sequence[Lateness] = ()) -> None:
    """The gradebook's scores per notebook, with each submission's lateness and late penalty
    (the total is after the penalty)."""
    late = {row.student: row for row in lateness}
    table = Table(title="Scores")
    table.add_column("student")
    notebooks = sorted({name for row in rows for name in row.notebooks})
    for name in notebooks:
        table.add_column(name.split("_")[0], justify="right")
    table.add_column("submitted")
    table.add_column("late penalty", justify="right")
    table.add_column("total", justify="right")
    for row in rows:
        cells = [f"{row.notebooks.get(name, 0):.2f}" for name in notebooks]
        found = late.get(row.student)
        penalty = found.penalty if found else 0.0
        when = found.describe() if found and found.submitted else "-"
        table.add_row(
            row.student,
            *cells,
            when,
            f"-{penalty:.2f}" if penalty else "",
            f"{row.score - penalty:.2f} / {row.max_score:g}",
        )
    console.print(table)


def print_lateness(rows: Sequence[Lateness]) -> None:
    """Each submission's time, due date (extension included) and penalty."""
    table = Table(title="Deadlines")
    for column in ("student", "submitted (UTC)", "due (UTC)", "extension", "lateness", "penalty"):
        table.add_column(column, justify="right" if column == "penalty" else "left")
    for row in rows:
        table.add_row(
            row.student,
            f"{row.submitted:%Y-%m-%d %H:%M}" if row.submitted else "-",
            f"{row.due:%Y-%m-%d %H:%M}" if row.due else "-",
            str(row.extension) if row.extension else "",
            row.describe() if row.submitted else "no submission time",
            f"-{row.penalty:.2f}" if row.penalty else "",
        )
    console.print(table)


def say(text: str) -> None:
    """One line of plain text (no markup, never wrapped)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _start_line(*, total: int, skipped: int, workers: int) -> str:
    return f"{_count(total, 'submission')}, {skipped} already graded, {_count(workers, 'worker')}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
