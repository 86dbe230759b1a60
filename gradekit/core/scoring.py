"""Results of grading, as plain dataclasses: checks, items (grade cells) and notebooks.

Points are decided here, from the checks' outcomes and weights, in the trusted process:
``points = max_points * passed_weight / total_weight`` for every autograded grade cell.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Points are stored and shown with this many decimals.
POINT_DECIMALS = 4


@dataclass(frozen=True)
class CheckResult:
    """One hidden check.

    Attributes:
        item: The grade cell it belongs to (its nbgrader ``grade_id``).
        name: Readable check name, e.g. ``relu_matches_reference[relu-batch1]``.
        weight: Its share of the item's points, relative to the item's other checks.
        passed: Whether the student's code passed.
        message: What went wrong, in words for the student (empty when passed).
        notes: Remarks that did not cost points (e.g. warnings the student's code emitted).
        kind: ``passed``, ``failed``, ``error`` (the student's code raised), ``missing`` (a
            name is not defined), ``load`` (a name the check needs is missing or broken
            because a statement was skipped, failed or ran too long when the definitions
            loaded), ``timeout``, ``crash`` or ``forbidden`` (a shortcut that costs the whole
            cell).
        seconds: Time the check took.
        mistake: The known mistake the check recognised in the answer (empty if none).
    """

    item: str
    name: str
    weight: float
    passed: bool
    message: str = ""
    notes: tuple[str, ...] = ()
    kind: str = "passed"
    seconds: float = 0.0
    mistake: str = ""


@dataclass
class ItemResult:
    """The checks of one autograded grade cell and the points they earn."""

    item: str
    max_points: float
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def total_weight(self) -> float:
        return sum(check.weight for check in self.checks)

    @property
    def forbidden(self) -> bool:
        """Whether a check found a forbidden shortcut: then the cell earns nothing."""
        return any(check.kind == "forbidden" for check in self.checks)

    @property
    def fraction(self) -> float:
        """Share of the weight that passed (0 with no checks or a forbidden shortcut)."""
        total = self.total_weight
        if not total or self.forbidden:
            return 0.0
        return sum(c.weight for c in self.checks if c.passed) / total

    @property
    def points(self) -> float:
        return round(self.max_points * self.fraction, POINT_DECIMALS)

    @property
    def passed_count(self) -> int:
        return sum(check.passed for check in self.checks)

    def feedback(self, *, max_failures: int = 8) -> str:
        """The text a student reads under the grade cell."""
        lines = [
            f"Graded outside your notebook: {self.passed_count} of {len(self.checks)} checks "
            f"passed, {self.points:g} of {self.max_points:g} points."
        ]
        if self.forbidden:
            lines.append("  No credit for this cell: it takes a forbidden shortcut (see below).")
        failures = sorted(
            (check for check in self.checks if not check.passed),
            key=lambda check: check.kind != "forbidden",
        )
        for check in failures[:max_failures]:
            lines.append(f"  ✗ {check.name}: {check.message}")
        if len(failures) > max_failures:
            lines.append(f"  … and {len(failures) - max_failures} more failed checks.")
        notes = dict.fromkeys(note for check in self.checks for note in check.notes)
        for note in list(notes)[:4]:
            lines.append(f"  note: {note}")
        if not self.checks:
            lines.append("  (no checks could be run for this cell)")
        return "\n".join(lines)


@dataclass
class NotebookResult:
    """Everything grading found out about one notebook.

    Attributes:
        notebook: The notebook's name (without ``.ipynb``).
        items: The autograded grade cells, by grade id.
        load_problems: Cells whose definitions did not load cleanly (one line each).
        incidents: Timeouts and crashes of the student's process during the checks.
        execution_problems: What went wrong while nbgrader's kernel executed the notebook (a dead
            kernel, the time budget, dropped output); it never changes the points.
        seconds: Time the checks took.
    """

    notebook: str
    items: dict[str, ItemResult] = field(default_factory=dict)
    load_problems: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    execution_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return round(sum(item.points for item in self.items.values()), POINT_DECIMALS)

    @property
    def max_points(self) -> float:
        return sum(item.max_points for item in self.items.values())

    def to_json(self) -> dict[str, Any]:
        """Plain data (for reports and for the autograded notebook's metadata)."""
        return {
            "notebook": self.notebook,
            "points": self.points,
            "max_points": self.max_points,
            "seconds": round(self.seconds, 3),
            "load_problems": self.load_problems,
            "incidents": self.incidents,
            "execution_problems": self.execution_problems,
            "items": {
                item_id: {
                    "points": item.points,
                    "max_points": item.max_points,
                    "checks": [asdict(check) for check in item.checks],
                }
                for item_id, item in self.items.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NotebookResult:
        """Inverse of :meth:`to_json`."""
        items = {
            item_id: ItemResult(
                item=item_id,
                max_points=float(item["max_points"]),
                checks=[
                    CheckResult(**{**check, "notes": tuple(check.get("notes", ()))})
                    for check in item["checks"]
                ],
            )
            for item_id, item in data.get("items", {}).items()
        }
        return cls(
            notebook=data["notebook"],
            items=items,
            load_problems=list(data.get("load_problems", [])),
            incidents=list(data.get("incidents", [])),
            execution_problems=list(data.get("execution_problems", [])),
            seconds=float(data.get("seconds", 0.0)),
        )
