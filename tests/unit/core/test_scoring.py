"""gradekit.core.scoring: points from weighted checks, and a forbidden shortcut costs the whole
cell."""

from __future__ import annotations

import pytest

from gradekit.core.scoring import CheckResult, ItemResult, NotebookResult


def check(passed: bool, weight: float = 1.0, kind: str | None = None) -> CheckResult:
    return CheckResult(
        "cell",
        "check",
        weight,
        passed,
        "" if passed else "wrong",
        kind=kind or ("passed" if passed else "failed"),
    )


@pytest.mark.parametrize(
    ("checks", "points"),
    [
        pytest.param([check(True), check(True)], 4.0, id="all-passed"),
        pytest.param([check(True), check(False)], 2.0, id="half"),
        pytest.param([check(True, 3), check(False, 1)], 3.0, id="weighted"),
        pytest.param([check(False), check(False)], 0.0, id="none-passed"),
        pytest.param([check(True), check(True, 0)], 4.0, id="weightless-check-passed"),
        pytest.param([check(True), check(False, 0, "forbidden")], 0.0, id="forbidden-shortcut"),
        pytest.param([], 0.0, id="no-checks"),
    ],
)
def test_points_follow_the_weights(checks, points):
    assert ItemResult("cell", 4.0, checks).points == points


def test_feedback_names_failures_and_the_forbidden_shortcut_first():
    item = ItemResult("cell", 4.0, [check(False), check(False, 0, "forbidden")])
    text = item.feedback()
    assert "0 of 4 points" in text and "No credit" in text
    assert text.index("No credit") < text.index("wrong")


def test_results_roundtrip_through_json():
    result = NotebookResult("nb", {"cell": ItemResult("cell", 2.0, [check(True), check(False)])})
    again = NotebookResult.from_json(result.to_json())
    assert again.points == result.points == 1.0
    assert again.items["cell"].checks == result.items["cell"].checks
