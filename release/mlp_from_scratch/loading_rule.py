"""Which statements of a notebook run when its definitions are loaded: the one loading rule.

Grading (:mod:`gradekit.core.notebook`) and an assignment's own notebook-to-notebook loading (a
byte-identical copy of this file ships next to the notebooks; a test compares the two) decide
with this module what a notebook defines. Standard library only; the source is read, never run,
and the work is linear in its size.

The rule, for every code cell that is not a test cell, in notebook order:

1. Every ``import``, ``def`` and ``class`` is kept (decorators, default values and class
   bodies included).
2. Every other top-level statement is kept when it binds or changes a name the graded names
   *need*: the graded names themselves, every global name read by a kept statement that
   binds or changes a needed name (in a function's or method's body, a class body, a default
   value, a decorator, the value of an assignment), and so on. Imports from any cell count
   everywhere. A statement *changes* a name when it assigns to an attribute or an item of it
   (``ACTIVATIONS["gelu"] = gelu``), deletes one, calls one of its methods
   (``REGISTRY.append(f)``) or calls ``setattr`` on it; a name that an import binds is never
   changed this way (``np.random.seed(0)`` is not kept for ``np``). ``b = a`` makes ``b`` and
   ``a`` one object: a change of either counts for both.
3. Inside a top-level ``if`` or ``try`` each statement is judged on its own (the test and the
   handlers are kept with it); ``for``, ``while``, ``with`` and ``match`` blocks are judged as a
   whole.
4. Everything else is skipped: prints, plots, training runs, experiments: work whose results
   no graded name uses. A kept statement that raises, or that runs longer than the loader
   allows, is reported and the rest still loads.

``loaders`` names functions whose calls load names from elsewhere (the assignment's
``import_definitions(notebook, globals(), ["relu", ...])``): such a call, as a statement of its
own with a list of names, binds those names.
"""

from __future__ import annotations

import _symtable
import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MAGIC_LINE = re.compile(r"^([ \t]*)[%!].*$", re.M)
TOO_DEEP = "the code is nested too deeply to be read"
#: Why a statement that binds names was skipped (said to the student when it matters).
UNUSED = "nothing that is graded uses what it defines"
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_CHANGING_BUILTINS = frozenset({"setattr", "delattr"})
_GLOBAL = (_symtable.GLOBAL_IMPLICIT, _symtable.GLOBAL_EXPLICIT)


@dataclass(frozen=True)
class Skipped:
    """A statement that binds names but is not run when the definitions load.

    Attributes:
        line: Its first line in its cell.
        names: The global names it would bind.
        reason: Why it is skipped.
    """

    line: int
    names: tuple[str, ...]
    reason: str = UNUSED


@dataclass
class CellPlan:
    """What one cell contributes when its definitions load.

    Attributes:
        key: The cell's readable name (``cell 7 'gradients'``).
        source: The kept statements; skipped ones are ``pass`` or blank lines, so that line
            numbers match the cell.
        kept: First line -> global names it binds, for every kept statement.
        needed: First lines of the statements kept because the needed names need them (the
            others are definitions nothing needed uses).
        skipped: The skipped statements that bind names.
        dropped: How many top-level statements were skipped.
        syntax_error: The parse error, if the cell is not valid Python (then nothing is kept).
    """

    key: str
    source: str = ""
    kept: dict[int, tuple[str, ...]] = field(default_factory=dict)
    needed: set[int] = field(default_factory=set)
    skipped: list[Skipped] = field(default_factory=list)
    dropped: int = 0
    syntax_error: str | None = None


@dataclass
class _Statement:
    cell: int
    node: ast.stmt
    binds: set[str]
    reads: set[str]
    changes: set[str]
    aliases: list[tuple[str, str]]
    always: bool  # a definition: kept whatever is needed
    headers: list[int]  # the enclosing blocks' header statements (if tests, except types)


def python_source(source: str) -> str | None:
    """A cell's source as Python: IPython line magics and shell escapes become ``pass`` (line
    numbers kept); ``None`` for a cell magic (``%%time``), whose cell is not Python."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    if text.lstrip().startswith("%%"):
        return None
    return MAGIC_LINE.sub(r"\1pass", text)


def plan_cells(
    cells: Sequence[tuple[str, str]],
    needed: Iterable[str],
    loaders: Iterable[str] = (),
) -> list[CellPlan]:
    """Apply the loading rule to a notebook's code cells (test cells left out).

    Args:
        cells: ``(key, source)`` of each code cell, in order.
        needed: The names the caller will use (the graded names).
        loaders: Functions whose statement calls bind the names they are given.

    Returns:
        One plan per cell, in order.
    """
    loader_names = frozenset(loaders)
    plans = [CellPlan(key) for key, _ in cells]
    trees: dict[int, tuple[ast.Module, list[str]]] = {}  # the cells that are Python
    statements: list[_Statement] = []
    for index, (_, raw) in enumerate(cells):
        text = python_source(raw)
        if text is None:
            plans[index].dropped = 1
        elif isinstance(tree := _parse(text), str):
            plans[index].syntax_error = tree
        else:
            trees[index] = (tree, text.split("\n"))
            _collect(tree.body, index, trees[index][1], [], statements, loader_names)
    kept, expanded = _needed_statements(statements, set(needed))
    by_cell: dict[int, list[int]] = {}
    for index, statement in enumerate(statements):
        by_cell.setdefault(statement.cell, []).append(index)
    for cell, parsed in trees.items():
        mine = by_cell.get(cell, [])  # none for an empty or comment-only cell
        _write(plans[cell], parsed, mine, statements, kept)
        plans[cell].needed = {statements[index].node.lineno for index in mine if index in expanded}
    return plans


def _parse(text: str) -> ast.Module | str:
    """The syntax tree of a cell's Python source, or why it cannot be read."""
    try:
        return ast.parse(text)
    except SyntaxError as error:
        return f"{error.msg} ({f'line {error.lineno}' if error.lineno else 'somewhere'})"
    except (RecursionError, MemoryError, ValueError):
        return TOO_DEEP


def _collect(
    body: list[ast.stmt],
    cell: int,
    lines: list[str],
    headers: list[int],
    out: list[_Statement],
    loaders: frozenset[str],
) -> None:
    """The statements of ``body`` (inner statements of ``if``/``try``, and their headers)."""
    for node in body:
        if isinstance(node, ast.If | ast.Try | ast.TryStar):
            parts: list[ast.AST] = [node.test] if isinstance(node, ast.If) else []
            parts += [h.type for h in getattr(node, "handlers", ()) if h.type is not None]
            reads = set[str]().union(*(_scopes_roughly(part)[1] for part in parts))
            header = _Statement(cell, node, set(), reads, set(), [], False, headers)
            out.append(header)
            inner = [*headers, len(out) - 1]
            handlers = [handler.body for handler in getattr(node, "handlers", ())]
            for block in [node.body, *handlers, node.orelse, getattr(node, "finalbody", [])]:
                _collect(block, cell, lines, inner, out, loaders)
            continue
        binds, reads = _scopes(node, lines)
        changes, aliases = _changes(node)
        loaded = _loader_names(node, loaders)
        binds |= loaded
        always = isinstance(node, (*_DEFINITIONS, ast.Pass)) or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        )
        out.append(_Statement(cell, node, binds, reads, changes, aliases, always, headers))


def _statement_text(node: ast.stmt, lines: list[str]) -> str:
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    if first == last:
        return lines[first][node.col_offset : node.end_col_offset]
    parts = [lines[first][node.col_offset :], *lines[first + 1 : last]]
    parts.append(lines[last][: node.end_col_offset])
    return "\n".join(parts)


def _scopes(node: ast.stmt, lines: list[str]) -> tuple[set[str], set[str]]:
    """The global names ``node`` binds and reads (Python's own scope analysis, read from the
    compiler's raw tables: the :mod:`symtable` wrappers cost many times more)."""
    try:
        table = _symtable.symtable(_statement_text(node, lines), "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _scopes_roughly(node)
    binds, reads = set[str](), set[str]()
    for name, flags in table.symbols.items():
        if flags & (_symtable.DEF_LOCAL | _symtable.DEF_IMPORT):
            binds.add(name)
        if flags & _symtable.USE:
            reads.add(name)
    pending = list(table.children)
    while pending:
        inner = pending.pop()
        pending.extend(inner.children)
        for name, flags in inner.symbols.items():
            scope = (flags >> _symtable.SCOPE_OFF) & _symtable.SCOPE_MASK
            if scope in _GLOBAL and flags & _symtable.USE:
                reads.add(name)
            if scope == _symtable.GLOBAL_EXPLICIT and flags & _symtable.DEF_LOCAL:
                binds.add(name)
    return binds, reads


def _scopes_roughly(node: ast.AST) -> tuple[set[str], set[str]]:
    """Every name stored and read in ``node`` (when the scope analysis cannot run, and in the
    tests of ``if`` and the exception types of ``try``)."""
    binds, reads = set[str](), set[str]()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            (reads if isinstance(child.ctx, ast.Load) else binds).add(child.id)
        elif isinstance(child, _DEFINITIONS[2:]):
            binds.add(child.name)
        elif isinstance(child, ast.alias):
            binds.add((child.asname or child.name).split(".")[0])
    return binds, reads


def _changes(node: ast.stmt) -> tuple[set[str], list[tuple[str, str]]]:
    """Names whose objects ``node`` changes while it runs (function bodies run later), and the
    aliases it makes (``b = a``)."""
    changes, aliases = set[str](), list[tuple[str, str]]()
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
        aliases = [(t.id, node.value.id) for t in node.targets if isinstance(t, ast.Name)]
    pending: list[ast.AST] = [node]
    while pending:
        child = pending.pop()
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = child.args
            pending += [*arguments.defaults, *(d for d in arguments.kw_defaults if d)]
            pending += getattr(child, "decorator_list", [])
            continue
        if isinstance(child, ast.Attribute | ast.Subscript) and not isinstance(child.ctx, ast.Load):
            _add_root(child.value, changes)
        elif isinstance(child, ast.Call):
            func = child.func
            if isinstance(func, ast.Attribute):
                _add_root(func.value, changes)
            elif isinstance(func, ast.Name) and func.id in _CHANGING_BUILTINS and child.args:
                _add_root(child.args[0], changes)
        pending.extend(ast.iter_child_nodes(child))
    return changes, aliases


def _add_root(node: ast.expr, names: set[str]) -> None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    if isinstance(node, ast.Name):
        names.add(node.id)


def _loader_names(node: ast.stmt, loaders: frozenset[str]) -> set[str]:
    """The names a statement ``loader(..., ..., ["a", "b"])`` loads (empty for others)."""
    if not loaders or not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return set()
    call = node.value
    function = call.func
    name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
    if name not in loaders:
        return set()
    given = [k.value for k in call.keywords if k.arg == "names"] + call.args[2:3]
    return {
        item.value
        for value in given
        if isinstance(value, ast.List | ast.Tuple | ast.Set)
        for item in value.elts
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    }


def _needed_statements(statements: list[_Statement], roots: set[str]) -> tuple[set[int], set[int]]:
    """Indexes of the statements kept (definitions, and what binds or changes a needed name)
    and of those needed (one walk: every statement and name is visited at most once)."""
    imported = {
        name
        for statement in statements
        if isinstance(statement.node, ast.Import | ast.ImportFrom)
        for name in statement.binds
    }
    binders, changers = dict[str, list[int]](), dict[str, list[int]]()
    aliases: dict[str, list[str]] = {}  # name -> every name of its object (one shared list)
    kept, expanded, seen_groups = set[int](), set[int](), set[str]()
    names, pending = list(roots), list[int]()
    for index, statement in enumerate(statements):
        if statement.always:
            kept.add(index)
            pending += statement.headers  # a definition inside an if/try: its test runs
        for name in statement.binds:
            binders.setdefault(name, []).append(index)
        for name in statement.changes - imported:
            changers.setdefault(name, []).append(index)
        for first, second in statement.aliases:
            one, other = aliases.setdefault(first, [first]), aliases.setdefault(second, [second])
            if one is not other:
                small, large = sorted((one, other), key=len)
                large += small
                aliases.update(dict.fromkeys(small, large))
    while names or pending:
        while pending:
            index = pending.pop()
            if index in expanded:
                continue
            expanded.add(index)
            kept.add(index)
            names.extend(statements[index].reads)
            pending.extend(statements[index].headers)
        while names and not pending:
            name = names.pop()
            group = aliases.get(name, [name])
            if group[0] in seen_groups:  # the first name stands for the whole group
                continue
            seen_groups.add(group[0])
            for member in group:
                pending += binders.get(member, ())
                pending += changers.get(member, ())
    return kept, expanded


def _write(
    plan: CellPlan,
    parsed: tuple[ast.Module, list[str]],
    cell: list[int],
    statements: list[_Statement],
    kept: set[int],
) -> None:
    """Fill ``plan`` with the kept statements of one cell (``cell``: its statements' indexes)."""
    tree, lines = parsed
    dropped: list[ast.stmt] = []
    for index in cell:
        statement = statements[index]
        node = statement.node
        if index in kept:
            plan.kept.setdefault(node.lineno, tuple(sorted(statement.binds)))
            continue
        if statement.binds:
            plan.skipped.append(Skipped(node.lineno, tuple(sorted(statement.binds))))
        if all(header in kept for header in statement.headers):
            dropped.append(node)  # else it goes with the block it is in
    top = {id(node) for node in tree.body}
    plan.dropped = sum(1 for node in dropped if id(node) in top)
    if not all(_alone_on_its_lines(node, lines) for node in dropped):
        try:
            plan.source = _unparse_without(tree, dropped)
        except RecursionError:
            plan.source, plan.syntax_error = "", TOO_DEEP
        return
    for node in dropped:
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        lines[first] = lines[first][: node.col_offset] + "pass"
        lines[first + 1 : last + 1] = [""] * (last - first)
    plan.source = "\n".join(lines)


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
