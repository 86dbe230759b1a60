"""changes.csv: which grades changed between two snapshots, and why."""

from __future__ import annotations

from datetime import datetime

import pytest

from gradekit.batch.changes import Change, Snapshot, compare

DUE = datetime(2026, 3, 8, 23, 59)


def snap(
    cells: dict[tuple[str, str], float],
    penalties: dict[str, float] | None = None,
    due: dict[str, datetime | None] | None = None,
    graded_from: dict[str, tuple[str, str]] | None = None,
) -> Snapshot:
    return Snapshot(
        cells=cells,
        penalties=penalties or {},
        due=due or {},
        graded_from=graded_from or {},
    )


@pytest.mark.parametrize(
    ("after_from", "why"),
    [
        pytest.param(("new-files", "graders-1"), "submission changed", id="submission"),
        pytest.param(("files-1", "graders-2"), "graders changed", id="graders"),
        pytest.param(("files-1", "graders-1"), "grade changed by hand", id="neither"),
    ],
)
def test_a_changed_cell_names_what_changed(after_from: tuple[str, str], why: str) -> None:
    before = snap({("bob", "nb/q1"): 1.0}, graded_from={"bob": ("files-1", "graders-1")})
    after = snap({("bob", "nb/q1"): 2.0}, graded_from={"bob": after_from})
    assert compare(before, after) == [Change("bob", "nb/q1", 1.0, 2.0, why)]


def test_a_first_grading_and_unchanged_cells_are_not_changes() -> None:
    before = snap({("bob", "nb/q1"): 1.0}, graded_from={"bob": ("f", "g")})
    after = snap(
        {("bob", "nb/q1"): 1.0, ("amy", "nb/q1"): 3.0},
        graded_from={"bob": ("f", "g"), "amy": ("f2", "g")},
    )
    assert compare(before, after) == []


def test_a_moved_due_date_changes_the_penalty_for_that_reason() -> None:
    moved = datetime(2026, 3, 9, 23, 59)
    before = snap({}, penalties={"dave": 2.0}, due={"dave": DUE})
    after = snap({}, penalties={"dave": 1.0}, due={"dave": moved})
    assert compare(before, after) == [Change("dave", "late penalty", 2.0, 1.0, "deadline changed")]
