"""The kit's nbgrader steps that need no kernel: ``CheckCellMetadata`` validates like nbgrader's."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import nbformat
import pytest
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import CheckCellMetadata as NbgraderCheckCellMetadata

from gradekit.nbgrader.check_metadata import CheckCellMetadata
from gradekit.nbgrader.runtime import Runtime, RuntimeParent, runtime_of
from tests.unit.fixtures import ASSIGNMENT, NOTEBOOK, TINY_COURSE

SOURCE = TINY_COURSE / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"


def _graded(nb: NotebookNode) -> NotebookNode:
    return next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade"))


def _no_points(nb: NotebookNode) -> None:
    del _graded(nb).metadata.nbgrader["points"]


def _points_as_text(nb: NotebookNode) -> None:
    _graded(nb).metadata.nbgrader["points"] = "four"


def _old_schema(nb: NotebookNode) -> None:
    _graded(nb).metadata.nbgrader["schema_version"] = 2


def _empty_grade_id(nb: NotebookNode) -> None:
    _graded(nb).metadata.nbgrader["grade_id"] = ""


def _duplicate_grade_id(nb: NotebookNode) -> None:
    graded = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    graded[1].metadata.nbgrader["grade_id"] = graded[0].metadata.nbgrader["grade_id"]


def _code_turned_markdown(nb: NotebookNode) -> None:
    # Same metadata as a cell that passed, another type: a markdown grade cell must be a solution.
    cell = next(
        cell
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
        and not cell.metadata.nbgrader.get("solution")
    )
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)


CORRUPTIONS: dict[str, Callable[[NotebookNode], None]] = {
    "no-points": _no_points,
    "points-as-text": _points_as_text,
    "old-schema": _old_schema,
    "empty-grade-id": _empty_grade_id,
    "duplicate-grade-id": _duplicate_grade_id,
    "code-turned-markdown": _code_turned_markdown,
}


def _error(step: type, nb: NotebookNode, parent: RuntimeParent) -> type[Exception] | None:
    """What the step raises for ``nb`` (None: it passes), run as a child of ``parent``."""
    try:
        step(parent=parent).preprocess(copy.deepcopy(nb), {})
    except Exception as error:
        return type(error)
    return None


@pytest.fixture
def parent() -> Iterator[RuntimeParent]:
    """The steps' parent: lends them one runtime per test, whose validated cells they share."""
    with Runtime() as runtime:
        yield RuntimeParent(runtime)


@pytest.fixture(scope="module")
def source() -> NotebookNode:
    return nbformat.read(SOURCE, as_version=nbformat.NO_CONVERT)


@pytest.mark.parametrize("repeat", [1, 2], ids=["first-time", "again"])
def test_valid_notebook_passes(source, repeat, parent):
    for _ in range(repeat):
        assert _error(CheckCellMetadata, source, parent) is None
    assert runtime_of(parent).validated_cells, "the valid cells are remembered"


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupted_metadata_fails_like_nbgrader_after_a_valid_notebook_passed(
    source, corrupt, parent
):
    assert _error(CheckCellMetadata, source, parent) is None  # its cells are remembered as valid
    broken = copy.deepcopy(source)
    corrupt(broken)
    expected = _error(NbgraderCheckCellMetadata, broken, parent)
    assert expected is not None, "nbgrader accepts this corruption"
    for attempt in ("first", "second"):
        assert _error(CheckCellMetadata, broken, parent) is expected, (
            f"the kit's step, {attempt} time: expected {expected.__name__} as nbgrader raises"
        )
