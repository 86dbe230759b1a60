"""gradekit.core.cells: nbgrader's metadata of a cell, read the same way everywhere, and the
hidden-test regions with the delimiters the course configures for nbgrader."""

from __future__ import annotations

from typing import Any

import pytest
from traitlets.config import Config

from gradekit.core.cells import (
    HiddenTests,
    grade_id,
    is_autograded_test,
    is_grade,
    is_solution,
    nbgrader_metadata,
)


def cell(cell_type: str = "code", **nbgrader: Any) -> dict[str, Any]:
    return {"cell_type": cell_type, "source": "", "metadata": {"nbgrader": nbgrader}}


@pytest.mark.parametrize(
    ("given", "autograded", "grade", "solution"),
    [
        pytest.param(cell(grade=True, grade_id="t"), True, True, False, id="test-cell"),
        pytest.param(cell(grade=True, solution=True), False, True, True, id="graded-solution"),
        pytest.param(cell(solution=True), False, False, True, id="solution"),
        pytest.param(cell("markdown", grade=True), False, True, False, id="markdown-answer"),
        pytest.param({"cell_type": "code", "metadata": {}}, False, False, False, id="plain"),
    ],
)
def test_the_kind_of_a_cell(given, autograded: bool, grade: bool, solution: bool) -> None:
    assert (is_autograded_test(given), is_grade(given), is_solution(given)) == (
        autograded,
        grade,
        solution,
    )


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({"nbgrader": "grade"}, id="nbgrader-a-string"),
        pytest.param({"nbgrader": None}, id="nbgrader-null"),
        pytest.param("metadata", id="metadata-a-string"),
        pytest.param({"nbgrader": {"grade_id": 7, "grade": True}}, id="grade-id-a-number"),
    ],
)
def test_metadata_of_the_wrong_type_reads_as_none(metadata) -> None:
    given = {"cell_type": "code", "metadata": metadata}
    assert grade_id(given) is None
    assert not is_autograded_test(given) or nbgrader_metadata(given).get("grade") is True


def test_the_grade_id() -> None:
    assert grade_id(cell(grade_id="nn_backward")) == "nn_backward"
    assert grade_id(cell(grade_id="")) is None


def test_hidden_tests_are_stripped_with_nbgrader_default_delimiters() -> None:
    source = "assert 1\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nassert 2"
    assert HiddenTests.from_config(Config()).removed_from(source) == "assert 1\nassert 2"


def test_hidden_tests_follow_the_courses_delimiters() -> None:
    config = Config()
    config.ClearHiddenTests.begin_test_delimeter = "BEGIN SECRET"
    config.ClearHiddenTests.end_test_delimeter = "END SECRET"
    source = "a = 1\n    ### BEGIN SECRET\nsecret()\n### END SECRET (graders)\nb = 2\n"
    hidden = HiddenTests.from_config(config)
    assert hidden.removed_from(source) == "a = 1\nb = 2\n"
    assert hidden.removed_from("### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS\n") != ""
