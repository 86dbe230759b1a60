"""One row per (student, check) of a class: the per-check CSV for a spreadsheet or a data frame."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from gradekit.term.report.results import ClassResults, check_points

#: Decimals of a check's points (more than a cell's: a cell's checks must add up to its points).
CHECK_POINT_DECIMALS = 6

CSV_COLUMNS = (
    "student",
    "notebook",
    "item",
    "check",
    "weight",
    "max_points",
    "points",
    "passed",
    "kind",
    "mistake",
    "message",
)


@dataclass(frozen=True)
class CheckRow:
    """One student's result of one check (a row of :func:`write_check_csv`).

    Attributes:
        student: The student's nbgrader id.
        notebook: The notebook's name.
        item: The grade cell (nbgrader ``grade_id``).
        check: The check's name.
        weight: The check's weight within its grade cell.
        max_points: Points the check is worth: ``item max points * weight / item total weight``.
        points: Points earned: ``max_points`` if passed, else 0 (also 0 in a cell that takes a
            forbidden shortcut).
        passed: Whether the check passed.
        kind: ``passed``, ``failed``, ``error``, ``missing``, ``timeout``, ``crash`` or
            ``forbidden``.
        mistake: The diagnosed mistake named in the message (empty when none is named).
        message: What the check said (what was expected; the student's feedback shows it too).
    """

    student: str
    notebook: str
    item: str
    check: str
    weight: float
    max_points: float
    points: float
    passed: bool
    kind: str
    mistake: str
    message: str = ""


def check_rows(*, results: ClassResults) -> list[CheckRow]:
    """One row per (student, check), in student, notebook, cell and check order."""
    rows = []
    for student in results.students:
        for notebook in student.notebooks:
            for item in notebook.items.values():
                forbidden = item.forbidden
                for check, worth in zip(item.checks, check_points(item), strict=True):
                    earned = worth if check.passed and not forbidden else 0.0
                    rows.append(
                        CheckRow(
                            student=student.student,
                            notebook=notebook.notebook,
                            item=item.item,
                            check=check.name,
                            weight=check.weight,
                            max_points=round(worth, CHECK_POINT_DECIMALS),
                            points=round(earned, CHECK_POINT_DECIMALS),
                            passed=check.passed,
                            kind=check.kind,
                            mistake=check.mistake,
                            message=check.message,
                        )
                    )
    return rows


def write_check_csv(*, results: ClassResults, path: Path) -> Path:
    """Write :func:`check_rows` as CSV (columns :data:`CSV_COLUMNS`; ``passed`` is
    ``true``/``false``).

    Returns:
        The path written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for row in check_rows(results=results):
            writer.writerow(
                [
                    row.student,
                    row.notebook,
                    row.item,
                    row.check,
                    f"{row.weight:g}",
                    f"{row.max_points:g}",
                    f"{row.points:g}",
                    "true" if row.passed else "false",
                    row.kind,
                    row.mistake,
                    row.message,
                ]
            )
    return path
