"""Which oracles each grade cell's hidden checks really use, read from the graders' source.

Every test cell tells students what its hidden checks compare with (``# Hidden checks: 12 more
checks run when your notebook is graded (reference NumPy implementation, PyTorch).``). This module
derives that list from the checks themselves: it parses ``grader_tests/test_*.py``, follows each
check function through the helper functions it calls (in its own module and in the other modules
of ``grader_tests``), and records which oracles they reach:

- the reference NumPy implementation: any use of ``reference_impl`` (``ref.…``) other than the
  by-hand answers;
- PyTorch: the trusted torch models of :mod:`grader_tests.oracles` (``torch_*``);
- finite differences: ``oracles.finite_difference_gradients`` or ``ref.numerical_gradient``;
- the lecture's results: a ``*_THRESHOLD`` constant (an accuracy the lecture reaches);
- the worked answers: ``ref.BY_HAND_ANSWERS``.

The rows of the oracle table (``Row(...)`` calls, :mod:`grader_tests.oracle_table`) declare their
oracles: a row whose ``cell=`` is a grade id gives that cell the oracles of the ``reference=``,
``torch=`` and ``central=`` it sets.

Functions named ``draw_*`` only draw hidden inputs (they may use the reference to keep inputs
valid) and are not followed. What a known mistake would produce (the ``mistakes=`` argument of a
comparison) only names the mistake in a message and is not counted.

``python -m grader_tests.inventory`` writes the lists into the source notebooks' test cells;
``tests/course/test_source_notebooks.py`` fails when a cell's line differs from what the checks use.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable
from pathlib import Path

SUITE = Path(__file__).resolve().parent
PACKAGE = SUITE.name
REFERENCE_PACKAGE = "reference_impl"

REFERENCE = "reference NumPy implementation"
PYTORCH = "PyTorch"
FINITE_DIFFERENCES = "finite differences"
LECTURE = "the lecture's results"
WORKED = "the worked answers"
#: The order in which a line names the oracles.
ORDER = (REFERENCE, PYTORCH, FINITE_DIFFERENCES, LECTURE, WORKED)
#: Checks that use none of the oracles test behaviour against the API's own rules.
BEHAVIOUR_ONLY = "behaviour required by the API"

#: The parenthesis of a test cell's hidden-checks line.
LINE = re.compile(
    r"(# Hidden checks: \d+ more checks? run when your notebook is graded \()([^)]*)(\)\.)"
)

#: Functions named so only draw hidden inputs; what they use is not what a check compares with.
INPUT_PREFIX = "draw_"

#: The class of the oracle table's rows (in the suite's module ``oracle_table``) and the oracle
#: each of its oracle keywords names.
TABLE_MODULE = "oracle_table"
ROW = "Row"
ROW_ORACLES = {"reference": REFERENCE, "torch": PYTORCH, "central": FINITE_DIFFERENCES}

Function = tuple[str, str]  # (module name, function name)


class _Module:
    """One module of the suite: its functions, imports and aliases."""

    def __init__(self, name: str, tree: ast.Module):
        self.name = name
        self.tree = tree
        self.functions: dict[str, ast.FunctionDef] = {}
        self.imported: dict[str, Function] = {}  # local name -> (module, name)
        self.module_alias: dict[str, str] = {}  # local name -> module name of the suite
        self.reference_alias: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    local = alias.asname or alias.name
                    if node.module == PACKAGE:
                        self.module_alias[local] = alias.name
                    elif node.module.startswith(f"{PACKAGE}."):
                        self.imported[local] = (node.module.split(".", 1)[1], alias.name)
                    elif node.module.split(".")[0] == REFERENCE_PACKAGE:
                        self.imported[local] = (REFERENCE_PACKAGE, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == REFERENCE_PACKAGE:
                        self.reference_alias.add(alias.asname or alias.name)


def _modules(suite: Path) -> dict[str, _Module]:
    return {
        path.stem: _Module(path.stem, ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(suite.glob("*.py"))
    }


def _oracle_of_reference(name: str) -> set[str]:
    if name == "BY_HAND_ANSWERS":
        return {WORKED}
    if name == "numerical_gradient":
        return {REFERENCE, FINITE_DIFFERENCES}
    return {REFERENCE}


def _oracle_of_suite(module: str, name: str) -> set[str]:
    if module == "oracles" and name == "finite_difference_gradients":
        return {FINITE_DIFFERENCES}
    if module == "oracles" and name.startswith("torch_"):
        return {PYTORCH}
    return set()


def _reached(modules: dict[str, _Module], start: Function) -> set[str]:
    """The oracles reached from one function, following calls into the suite's functions."""
    found: set[str] = set()
    seen: set[Function] = set()
    todo = [start]
    while todo:
        module_name, function_name = todo.pop()
        if (module_name, function_name) in seen or module_name not in modules:
            continue
        if function_name.startswith(INPUT_PREFIX):
            continue  # draws hidden inputs (it may use the reference to keep them valid)
        seen.add((module_name, function_name))
        module = modules[module_name]
        function = module.functions.get(function_name)
        if function is None:
            continue
        for node in _walk_without_mistakes(function):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                owner = node.value.id
                if owner in module.reference_alias:
                    found |= _oracle_of_reference(node.attr)
                elif owner in module.module_alias:
                    target = module.module_alias[owner]
                    found |= _oracle_of_suite(target, node.attr)
                    if target != "oracles":  # an oracle is what its name says, not its helpers
                        todo.append((target, node.attr))
            elif isinstance(node, ast.Name):
                if node.id.endswith("_THRESHOLD"):
                    found.add(LECTURE)
                if node.id in module.functions:
                    todo.append((module_name, node.id))
                elif node.id in module.imported:
                    target, name = module.imported[node.id]
                    if target == REFERENCE_PACKAGE:
                        found |= _oracle_of_reference(name)
                    else:
                        found |= _oracle_of_suite(target, name)
                        if target != "oracles":
                            todo.append((target, name))
    return found


def _walk_without_mistakes(root: ast.AST) -> Iterable[ast.AST]:
    """Every node under ``root`` except the ``mistakes=`` arguments: what a known mistake
    produces only names the mistake in a message, it is not what the check compares with."""
    todo = [root]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not (isinstance(child, ast.keyword) and child.arg == "mistakes"):
                todo.append(child)


def _grade_ids(function: ast.FunctionDef, grade_ids: Iterable[str]) -> set[str]:
    wanted = set(grade_ids)
    marks = set()
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "grade_cell"
            and decorator.args
            and isinstance(decorator.args[0], ast.Constant)
            and decorator.args[0].value in wanted
        ):
            marks.add(decorator.args[0].value)
    return marks


def _table_rows(module: _Module) -> Iterable[tuple[str, set[str]]]:
    """``(grade id, oracles)`` of each row of the oracle table written in ``module``."""
    if module.imported.get(ROW) != (TABLE_MODULE, ROW):
        return
    for node in ast.walk(module.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id != ROW:
            continue
        given = {
            keyword.arg: keyword.value
            for keyword in node.keywords
            if keyword.arg
            and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None)
        }
        cell = given.get("cell")
        if isinstance(cell, ast.Constant) and isinstance(cell.value, str):
            yield cell.value, {oracle for kind, oracle in ROW_ORACLES.items() if kind in given}


def oracles_by_cell(grade_ids: Iterable[str], suite: Path = SUITE) -> dict[str, list[str]]:
    """Grade id -> the oracles its checks use, in :data:`ORDER`."""
    grade_ids = list(grade_ids)
    modules = _modules(suite)
    used: dict[str, set[str]] = {grade_id: set() for grade_id in grade_ids}
    for module in modules.values():
        if not module.name.startswith("test_"):
            continue
        for name, function in module.functions.items():
            if not name.startswith("test_"):
                continue
            for grade_id in _grade_ids(function, grade_ids):
                used[grade_id] |= _reached(modules, (module.name, name))
        for grade_id, oracles in _table_rows(module):
            if grade_id in used:
                used[grade_id] |= oracles
    return {grade_id: [o for o in ORDER if o in found] for grade_id, found in used.items()}


def describe(oracles: list[str]) -> str:
    """The text inside a hidden-checks line's parenthesis."""
    return ", ".join(oracles) if oracles else BEHAVIOUR_ONLY


def stated(source: str) -> str | None:
    """What a test cell's hidden-checks line states (``None`` without such a line)."""
    match = LINE.search(source)
    return match.group(2) if match else None


def write(notebooks: Iterable[Path]) -> list[Path]:
    """Rewrite every test cell's hidden-checks line from the checks; the notebooks changed."""
    import nbformat  # only the writer needs it

    from grader_tests.conftest import GRADED_NAMES

    descriptions = {
        grade_id: describe(found) for grade_id, found in oracles_by_cell(GRADED_NAMES).items()
    }
    changed = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        dirty = False
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in descriptions and stated(cell.source) is not None:
                updated = LINE.sub(
                    lambda m, g=grade_id: m.group(1) + descriptions[g] + m.group(3), cell.source
                )
                dirty |= updated != cell.source
                cell.source = updated
        if dirty:
            nbformat.write(nb, path)
            changed.append(path)
    return changed


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else SUITE.parent / "source"
    for path in write(sorted(folder.rglob("*.ipynb"))):
        print(f"updated the hidden-checks lines of {path}")
