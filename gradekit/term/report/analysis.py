"""What a class got wrong: failure rates and discrimination of every check, the mean points of
every grade cell, the most common diagnosed mistakes and the incidents (:func:`analyse_results`).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from gradekit.term.report.incidents import Incident, notebook_incidents
from gradekit.term.report.results import ClassResults, check_points
from gradekit.term.report.stats import (
    ScoreSummary,
    discrimination_index,
    point_biserial,
    summarize,
)


@dataclass(frozen=True)
class CheckStats:
    """How the class did on one check.

    Attributes:
        notebook: The notebook's name.
        item: The grade cell.
        check: The check's name.
        max_points: Points the check is worth.
        students: Students with a result for the check.
        failed: How many of them failed it.
        failures: Failures by kind (``failed``, ``error``, ``timeout``, …).
        discrimination: Upper-lower 27 % discrimination index (see :mod:`.stats`).
        point_biserial: Point-biserial correlation of passing with the total.
        mistakes: Diagnosed mistakes and how many students' results named them, most first.
    """

    notebook: str
    item: str
    check: str
    max_points: float
    students: int
    failed: int
    failures: dict[str, int]
    discrimination: float
    point_biserial: float
    mistakes: tuple[tuple[str, int], ...] = ()

    @property
    def failure_rate(self) -> float:
        return self.failed / self.students if self.students else 0.0


@dataclass(frozen=True)
class CellStats:
    """How the class did on one grade cell.

    Attributes:
        notebook: The notebook's name.
        item: The grade cell.
        max_points: Points the cell is worth.
        checks: Number of checks in the cell.
        students: Students with a result for the cell.
        mean_points: Mean points earned.
        failure_rate: Share of all the cell's check results (students x checks) that failed.
        full_marks: Students who earned every point.
        zero_points: Students who earned none.
    """

    notebook: str
    item: str
    max_points: float
    checks: int
    students: int
    mean_points: float
    failure_rate: float
    full_marks: int
    zero_points: int

    @property
    def mean_fraction(self) -> float:
        """Mean points as a share of the cell's points."""
        return self.mean_points / self.max_points if self.max_points else 0.0


@dataclass(frozen=True)
class MistakeStats:
    """A diagnosed mistake and where it occurs.

    Attributes:
        mistake: The diagnosis, as the checks name it.
        notebook: The notebook's name.
        item: The grade cell whose checks named it.
        students: How many students made it (in at least one of ``checks``).
        checks: The checks that named it, in the order they were first seen.
    """

    mistake: str
    notebook: str
    item: str
    students: int
    checks: tuple[str, ...]


@dataclass(frozen=True)
class ClassAnalysis:
    """Everything the report shows, computed from :class:`ClassResults`.

    Attributes:
        assignment: The assignment's name.
        max_points: The autograded points of the assignment (the largest total seen).
        totals: Each student's total autograded points.
        gradebook_totals: Each student's total in the gradebook (manual grades included), when
            given.
        autograded: Summary of ``totals`` (None without students).
        gradebook: Summary of ``gradebook_totals`` (None when not given or empty).
        checks: Every check, highest failure rate first (ties in notebook and cell order).
        cells: Every grade cell, in notebook and cell order.
        mistakes: Diagnosed mistakes per cell, most students first.
        incidents: Timeouts, crashes, forbidden shortcuts, incidents and loading problems, by
            student.
    """

    assignment: str
    max_points: float
    totals: dict[str, float]
    gradebook_totals: dict[str, float]
    autograded: ScoreSummary | None
    gradebook: ScoreSummary | None
    checks: tuple[CheckStats, ...]
    cells: tuple[CellStats, ...]
    mistakes: tuple[MistakeStats, ...]
    incidents: tuple[Incident, ...]


@dataclass
class _CheckTally:
    """What one check's results add up to, while reading the class."""

    max_points: float
    outcomes: list[tuple[str, bool]] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    mistakes: Counter[str] = field(default_factory=Counter)


@dataclass
class _CellTally:
    max_points: float
    checks: set[str] = field(default_factory=set)
    points: list[float] = field(default_factory=list)
    results: int = 0
    failed: int = 0


def analyse_results(
    *, results: ClassResults, gradebook_totals: Mapping[str, float] | None = None
) -> ClassAnalysis:
    """Failure rates, discrimination, cell means, mistakes and incidents of a class.

    Args:
        results: The class's autograded results.
        gradebook_totals: Each student's total in the gradebook (manual grades included), if
            the summary should show it.
    """
    totals = {student.student: student.points for student in results.students}
    checks: dict[tuple[str, str, str], _CheckTally] = {}
    cells: dict[tuple[str, str], _CellTally] = {}
    mistake_students: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    mistake_checks: dict[tuple[str, str, str], dict[str, None]] = defaultdict(dict)
    incidents = []
    for student in results.students:
        name = student.student
        for notebook in student.notebooks:
            incidents += notebook_incidents(name, notebook)
            for item in notebook.items.values():
                cell = cells.setdefault(
                    (notebook.notebook, item.item), _CellTally(max_points=item.max_points)
                )
                cell.points.append(item.points)
                for check, worth in zip(item.checks, check_points(item), strict=True):
                    key = (notebook.notebook, item.item, check.name)
                    tally = checks.setdefault(key, _CheckTally(max_points=worth))
                    tally.outcomes.append((name, check.passed))
                    cell.checks.add(check.name)
                    cell.results += 1
                    if check.passed:
                        continue
                    cell.failed += 1
                    tally.failures[check.kind] += 1
                    if mistake := check.mistake:
                        tally.mistakes[mistake] += 1
                        mistake_students[(notebook.notebook, item.item, mistake)].add(name)
                        mistake_checks[(notebook.notebook, item.item, mistake)][check.name] = None
    notebook_order = {nb: i for i, nb in enumerate(sorted({key[0] for key in cells}))}
    check_order = sorted(checks, key=lambda key: notebook_order[key[0]])
    check_stats = [_check_stats(key, checks[key], totals) for key in check_order]
    given = dict(gradebook_totals or {})
    return ClassAnalysis(
        assignment=results.assignment,
        max_points=max((student.max_points for student in results.students), default=0.0),
        totals=totals,
        gradebook_totals=given,
        autograded=summarize(totals.values()),
        gradebook=summarize(given.values()),
        checks=tuple(sorted(check_stats, key=lambda stats: -stats.failure_rate)),
        cells=tuple(
            _cell_stats(key, cells[key])
            for key in sorted(cells, key=lambda key: notebook_order[key[0]])
        ),
        mistakes=tuple(
            sorted(
                (
                    MistakeStats(
                        mistake=key[2],
                        notebook=key[0],
                        item=key[1],
                        students=len(names),
                        checks=tuple(mistake_checks[key]),
                    )
                    for key, names in mistake_students.items()
                ),
                key=lambda stats: -stats.students,
            )
        ),
        incidents=tuple(incidents),
    )


def _check_stats(
    key: tuple[str, str, str], tally: _CheckTally, totals: Mapping[str, float]
) -> CheckStats:
    passed = [outcome for _, outcome in tally.outcomes]
    student_totals = [totals[student] for student, _ in tally.outcomes]
    return CheckStats(
        notebook=key[0],
        item=key[1],
        check=key[2],
        max_points=tally.max_points,
        students=len(passed),
        failed=passed.count(False),
        failures=dict(tally.failures),
        discrimination=discrimination_index(passed=passed, totals=student_totals),
        point_biserial=point_biserial(passed=passed, totals=student_totals),
        mistakes=tuple(tally.mistakes.most_common()),
    )


def _cell_stats(key: tuple[str, str], tally: _CellTally) -> CellStats:
    return CellStats(
        notebook=key[0],
        item=key[1],
        max_points=tally.max_points,
        checks=len(tally.checks),
        students=len(tally.points),
        mean_points=statistics.fmean(tally.points),
        failure_rate=tally.failed / tally.results if tally.results else 0.0,
        full_marks=sum(math.isclose(points, tally.max_points) for points in tally.points),
        zero_points=sum(points == 0 for points in tally.points),
    )
