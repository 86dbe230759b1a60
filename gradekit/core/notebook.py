"""Reading a submitted notebook and keeping only what defines things.

Grading needs the student's functions and classes and what they use, not the notebook's top-level
work (training loops, plots, prints). :func:`definition_cells` returns, for every code cell that
is not a test cell, the statements the loading rule keeps (:mod:`gradekit.core.loading_rule`: every
import, ``def`` and ``class``, and every statement that binds or changes a name the graded names
need). Everything else is dropped, so a notebook whose training cell loops forever can still be
graded. The rule runs on the trusted side, reading the source only: only the kept source is sent
to the student's process.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from gradekit.core.cells import grade_id, is_autograded_test, is_grade, nbgrader_metadata
from gradekit.core.loading_rule import CellPlan, Skipped, plan_cells, python_source


class NotebookError(ValueError):
    """The file is not a readable notebook."""


@dataclass(frozen=True)
class GradeCell:
    """An autograded or manually graded nbgrader cell."""

    grade_id: str
    points: float
    cell_type: str
    is_autograded_test: bool


@dataclass(frozen=True)
class SourceCell:
    """A code cell's definitions, ready to be executed in the student's process.

    Attributes:
        key: Readable name used in messages and tracebacks (``cell 7 'gradients'``).
        source: The kept statements, in order.
        dropped: How many top-level statements were left out as work (not definitions).
        syntax_error: The parse error, if the cell is not valid Python (then ``source`` is empty).
        kept: First line -> global names bound, of each kept statement.
        needed: First lines of the statements kept because the needed names need them.
        skipped: The skipped statements that bind names (line, names, why).
    """

    key: str
    source: str
    dropped: int = 0
    syntax_error: str | None = None
    kept: dict[int, tuple[str, ...]] = field(default_factory=dict)
    needed: frozenset[int] = frozenset()
    skipped: tuple[Skipped, ...] = ()


@dataclass
class Notebook:
    """A notebook reduced to what grading needs."""

    name: str
    cells: list[dict[str, Any]] = field(default_factory=list)

    @property
    def grade_cells(self) -> list[GradeCell]:
        """The nbgrader grade cells (autograder tests and manually graded answers), in order."""
        found = []
        for cell in self.cells:
            name = grade_id(cell)
            if is_grade(cell) and name:
                found.append(
                    GradeCell(
                        grade_id=name,
                        points=float(nbgrader_metadata(cell).get("points", 0)),
                        cell_type=str(cell.get("cell_type")),
                        is_autograded_test=is_autograded_test(cell),
                    )
                )
        return found

    @property
    def autograded_ids(self) -> list[str]:
        """Grade ids of the code cells whose output decides their points."""
        return [cell.grade_id for cell in self.grade_cells if cell.is_autograded_test]


def read_notebook(path: Path) -> Notebook:
    """Read a notebook file without trusting its structure.

    Raises:
        NotebookError: If the file is not JSON or has no list of cells.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise NotebookError(f"{Path(path).name} is not a readable notebook: {error}") from error
    return notebook_from_dict(data, name=Path(path).stem)


def notebook_from_dict(data: Any, *, name: str) -> Notebook:
    """Build a :class:`Notebook` from parsed JSON (or an ``nbformat`` node)."""
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError(f"{name} has no list of cells")
    cells = [cell for cell in data["cells"] if isinstance(cell, dict)]
    for cell in cells:
        source = cell.get("source", "")
        cell["source"] = "".join(source) if isinstance(source, list) else str(source)
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
    return Notebook(name=name, cells=cells)


def definition_cells(notebook: Notebook, needed: Iterable[str] | None = None) -> list[SourceCell]:
    """What the grading worker runs of every code cell that is not an autograder test cell.

    Args:
        notebook: The submission.
        needed: The names the checks use (the graded names). ``None``: every name a ``def`` or
            ``class`` of the notebook binds.

    Returns:
        One :class:`SourceCell` per code cell that is not a test cell, in order (the rule:
        :mod:`gradekit.core.loading_rule`).
    """
    cells = code_cells(notebook)
    names = defined_names(cells) if needed is None else needed
    return [_source_cell(plan) for plan in plan_cells(cells, names)]


def code_cells(notebook: Notebook) -> list[tuple[str, str]]:
    """``(key, source)`` of every code cell that is not an autograder test cell, as written."""
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") != "code":
            continue
        if is_autograded_test(cell):
            continue  # test cells: the trusted graders replace them
        name = grade_id(cell)
        label = f"cell {index + 1}" + (f" '{name}'" if name else "")
        cells.append((label, cell["source"]))
    return cells


def _source_cell(plan: CellPlan) -> SourceCell:
    return SourceCell(
        key=plan.key,
        source=plan.source,
        dropped=plan.dropped,
        syntax_error=plan.syntax_error,
        kept=dict(plan.kept),
        needed=frozenset(plan.needed),
        skipped=tuple(plan.skipped),
    )


def defined_names(cells: list[tuple[str, str]]) -> set[str]:
    """Every name a top-level ``def`` or ``class`` of ``cells`` binds (parse errors skipped)."""
    names: set[str] = set()
    for _, source in cells:
        text = python_source(source)
        try:
            tree = ast.parse(text or "")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        names.update(
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        )
    return names


def filter_definitions(source: str, *, key: str, needed: Iterable[str] | None = None) -> SourceCell:
    """What the grading worker runs of one cell's ``source`` (see :func:`definition_cells`)."""
    cells = [(key, source)]
    plan = plan_cells(cells, defined_names(cells) if needed is None else needed)[0]
    return _source_cell(plan)


def as_nbformat(notebook: Any) -> Any:
    """An ``nbformat`` node as plain JSON data (for :func:`notebook_from_dict`)."""
    if isinstance(notebook, nbformat.NotebookNode):
        return json.loads(nbformat.writes(notebook))
    return notebook
