"""The statistics of a class report: score summaries and how well a check discriminates.

Discrimination (how well a check separates strong from weak students) is reported two ways, both
against the student's total autograded points:

- the **upper-lower index** ``D = p_upper - p_lower``: the share of the top 27 % of students
  (by total) who passed the check minus the share of the bottom 27 % who did (Kelley's groups;
  ``round(0.27 n)`` students each, at least one; students tied with a group's last one share
  its remaining places equally). ``D`` lies in [-1, 1]; a check only weak students fail has
  ``D > 0``; one that strong students fail more often than weak ones has ``D < 0`` (worth a
  look: a wrong check, or a task that rewards a shortcut?).
- the **point-biserial correlation** ``r_pb``: Pearson's correlation between passing (1/0) and
  the total, over every student with a result for the check. It is not corrected for the check's
  own points (each check is a small share of the total).

Both are 0 when there is nothing to separate: a check everyone (or no one) passes, all totals
equal, or fewer than two students.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: Share of the class in each of the upper and lower groups of the discrimination index.
UPPER_LOWER_SHARE = 0.27


@dataclass(frozen=True)
class ScoreSummary:
    """Mean, median, minimum and maximum of a set of scores (at least one)."""

    students: int
    mean: float
    median: float
    minimum: float
    maximum: float


def discrimination_index(*, passed: Sequence[bool], totals: Sequence[float]) -> float:
    """Upper-lower 27 % discrimination index: share of the top group by total that passed
    minus share of the bottom group that passed (0 with fewer than two students).

    Args:
        passed: Whether each student passed the check, shape ``(students,)``.
        totals: Each student's total points, shape ``(students,)``, in the same order.
    """
    count = len(totals)
    if count < 2:
        return 0.0
    group = min(max(1, round(UPPER_LOWER_SHARE * count)), count // 2)
    outcomes = np.asarray(passed, dtype=float)
    scores_ = np.asarray(totals, dtype=float)
    return _top_pass_rate(outcomes, scores_, group) - _top_pass_rate(outcomes, -scores_, group)


def _top_pass_rate(outcomes: np.ndarray, totals: np.ndarray, group: int) -> float:
    """Share of the ``group`` students with the highest totals who passed. Students tied with
    the group's last one share its remaining places equally, so the order of students never
    matters."""
    edge = np.sort(totals)[::-1][group - 1]
    above = totals > edge
    tied = totals == edge
    places = group - int(above.sum())
    return float((outcomes[above].sum() + places * outcomes[tied].mean()) / group)


def point_biserial(*, passed: Sequence[bool], totals: Sequence[float]) -> float:
    """Pearson correlation between passing (1/0) and the total; 0 when either is constant.

    Args:
        passed: Whether each student passed the check, shape ``(students,)``.
        totals: Each student's total points, shape ``(students,)``, in the same order.
    """
    outcomes = np.asarray(passed, dtype=float)
    scores_ = np.asarray(totals, dtype=float)
    if len(outcomes) < 2 or np.ptp(outcomes) == 0 or np.ptp(scores_) == 0:
        return 0.0
    outcomes = outcomes - outcomes.mean()
    scores_ = scores_ - scores_.mean()
    r = float((outcomes * scores_).sum() / math.sqrt((outcomes**2).sum() * (scores_**2).sum()))
    return max(-1.0, min(1.0, r))


def summarize(values: Iterable[float]) -> ScoreSummary | None:
    """Mean, median, minimum and maximum (None for no values)."""
    values = list(values)
    if not values:
        return None
    return ScoreSummary(
        students=len(values),
        mean=statistics.fmean(values),
        median=statistics.median(values),
        minimum=min(values),
        maximum=max(values),
    )
