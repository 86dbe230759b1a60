"""Reading a submitted notebook and keeping only what defines things.

Grading needs the student's functions and classes, not the notebook's top-level work (training
loops, plots, prints). :func:`definition_cells` returns, for every code cell that is not a test
cell, the statements that define names: imports, ``def``/``class`` and assignments whose value
does no work (literals, lambdas, references, and calls into imported modules such as
``np.sqrt(2)``). Everything else is dropped, so a notebook whose training cell loops forever can
still be graded. The filter runs on the trusted side: only the filtered source is sent to the
student's process.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

HIDDEN_TESTS = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S
)
_MAGIC_LINE = re.compile(r"^([ \t]*)[%!].*$", re.M)
_TOO_DEEP = "the code is nested too deeply to be read"


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
        key: Readable name used in messages and tracebacks (``cell 7 'neural_network'``).
        source: The kept statements, in order.
        dropped: How many top-level statements were left out as work (not definitions).
        syntax_error: The parse error, if the cell is not valid Python (then ``source`` is empty).
    """

    key: str
    source: str
    dropped: int = 0
    syntax_error: str | None = None


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
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and meta.get("grade_id"):
                found.append(
                    GradeCell(
                        grade_id=str(meta["grade_id"]),
                        points=float(meta.get("points", 0)),
                        cell_type=str(cell.get("cell_type")),
                        is_autograded_test=cell.get("cell_type") == "code"
                        and not meta.get("solution", False),
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


def strip_hidden_tests(source: str) -> str:
    """Remove every ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region."""
    return HIDDEN_TESTS.sub("", source)


def definition_cells(notebook: Notebook) -> list[SourceCell]:
    """The definitions of every code cell that is not an autograder test cell."""
    kept = []
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") != "code":
            continue
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            continue  # test cells: the trusted graders replace them
        label = f"cell {index + 1}" + (f" '{meta['grade_id']}'" if meta.get("grade_id") else "")
        # A locked cell is the instructor's (nbgrader restores it from the source): its
        # assignments are data and results, never something the graders call.
        locked = bool(meta.get("locked")) and not meta.get("solution")
        kept.append(filter_definitions(cell["source"], key=label, assignments=not locked))
    return kept


def filter_definitions(source: str, *, key: str, assignments: bool = True) -> SourceCell:
    """Keep the statements of ``source`` that define names without doing work.

    With ``assignments=False`` only imports, functions and classes are kept. Dropped statements
    are replaced by ``pass`` and blank lines, so line numbers in the student's tracebacks still
    match their cell.
    """
    if source.lstrip().startswith("%%"):
        return SourceCell(key=key, source="", dropped=1)  # a cell magic: not Python
    text = _MAGIC_LINE.sub(r"\1pass", source)
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        where = f"line {error.lineno}" if error.lineno else "somewhere"
        return SourceCell(key=key, source="", syntax_error=f"{error.msg} ({where})")
    except (RecursionError, MemoryError):
        return SourceCell(key=key, source="", syntax_error=_TOO_DEEP)
    dropped = _dropped_statements(tree.body, _imported_modules(tree), assignments)
    top_level = sum(1 for node in tree.body if node in dropped)
    lines = text.split("\n")
    if not all(_alone_on_its_lines(node, lines) for node in dropped):
        try:
            kept = _unparse_without(tree, dropped)
        except RecursionError:
            return SourceCell(key=key, source="", syntax_error=_TOO_DEEP)
        return SourceCell(key=key, source=kept, dropped=top_level)
    for node in dropped:
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        lines[first] = lines[first][: node.col_offset] + "pass"
        lines[first + 1 : last + 1] = [""] * (last - first)
    return SourceCell(key=key, source="\n".join(lines), dropped=top_level)


def _imported_modules(tree: ast.Module) -> set[str]:
    """Names bound by ``import X`` / ``import X as Y`` (modules, not names taken from them)."""
    names: set[str] = set()
    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Every statement in ``body`` and in the blocks nested in it (expressions hold none)."""
    found: list[ast.stmt] = []
    pending = list(body)
    while pending:
        node = pending.pop()
        found.append(node)
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            for inner in getattr(node, name, ()):
                nested = isinstance(inner, ast.ExceptHandler | ast.match_case)
                pending += inner.body if nested else [inner]
    return found


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _dropped_statements(
    statements: list[ast.stmt], modules: set[str], assignments: bool
) -> list[ast.stmt]:
    """The statements (at any depth of top-level ``if``/``try``) that do work."""
    dropped: list[ast.stmt] = []
    for node in statements:
        if isinstance(node, (*_DEFINITIONS, ast.Pass)):
            continue
        static_assignment = isinstance(node, ast.Assign | ast.AnnAssign) and _is_static(
            node, modules
        )
        if static_assignment and assignments:
            continue
        if isinstance(node, ast.If) and _is_static_expr(node.test, modules):
            dropped += _dropped_statements(node.body + node.orelse, modules, assignments)
        elif isinstance(node, ast.Try):
            blocks = node.body + node.orelse + node.finalbody
            blocks += [stmt for handler in node.handlers for stmt in handler.body]
            dropped += _dropped_statements(blocks, modules, assignments)
        else:
            dropped.append(node)
    return dropped


def _alone_on_its_lines(node: ast.stmt, lines: list[str]) -> bool:
    """False for ``a = 1; train()``, where blanking the statement's lines would lose ``a = 1``."""
    before = lines[node.lineno - 1][: node.col_offset]
    after = lines[(node.end_lineno or node.lineno) - 1][node.end_col_offset or 0 :]
    return not before.strip() and (not after.strip() or after.strip().startswith("#"))


def _unparse_without(tree: ast.Module, dropped: list[ast.stmt]) -> str:
    drop = {id(node) for node in dropped}

    class _Remove(ast.NodeTransformer):
        def generic_visit(self, node: ast.AST) -> ast.AST:
            for name in ("body", "orelse", "finalbody"):
                block = getattr(node, name, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    kept = [stmt for stmt in block if id(stmt) not in drop]
                    setattr(node, name, kept or ([ast.Pass()] if name == "body" else []))
            return super().generic_visit(node)

    return ast.unparse(ast.fix_missing_locations(_Remove().visit(tree)))


def _is_static(node: ast.Assign | ast.AnnAssign, modules: set[str]) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names_only = all(_is_name_target(target) for target in targets)
    return names_only and (node.value is None or _is_static_expr(node.value, modules))


def _is_name_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, ast.Tuple | ast.List) and all(_is_name_target(t) for t in target.elts)


def _is_static_expr(expr: ast.expr, modules: set[str]) -> bool:
    """True if evaluating ``expr`` only builds values (no calls except into imported modules)."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr):
            return False
        if isinstance(node, ast.Call) and not _calls_module(node.func, modules):
            return False
    return True


def _calls_module(func: ast.expr, modules: set[str]) -> bool:
    # ``np.sqrt(2)`` or ``np.random.default_rng`` are fine; ``train(model)`` is work.
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id in modules and not isinstance(func.ctx, ast.Store)


def as_nbformat(notebook: Any) -> Any:
    """An ``nbformat`` node as plain JSON data (for :func:`notebook_from_dict`)."""
    if isinstance(notebook, nbformat.NotebookNode):
        return json.loads(nbformat.writes(notebook))
    return notebook
