"""Finding forbidden shortcuts in a submission's source (read on the trusted side, never run).

A from-scratch item must be written with NumPy: computing it with torch (autograd included),
scikit-learn, the reference implementation, or by importing or reading the graders is a shortcut
that earns the item no credit. :func:`shortcuts` looks at the definitions an item consists of and
at every function or class of the notebook they use, and lists what it finds.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from gradekit.notebook import Notebook

#: Modules a from-scratch item may not use, and modules no item may use.
FROM_SCRATCH_FORBIDDEN = ("torch", "sklearn", "reference_impl", "grader_tests", "importlib")
ALWAYS_FORBIDDEN = ("reference_impl", "grader_tests", "importlib")
#: Built-ins that load or run code or files by name.
FORBIDDEN_CALLS = ("__import__", "eval", "exec", "compile", "open")
FORBIDDEN_TEXT = ("reference_impl", "grader_tests")


@dataclass(frozen=True)
class Shortcut:
    """One forbidden use, located for the student."""

    name: str  # the definition it is in
    what: str
    where: str

    def __str__(self) -> str:
        return f"{self.name} {self.what} ({self.where})"


@dataclass
class _Definition:
    node: ast.AST
    cell: str


def _definitions_and_aliases(notebook: Notebook) -> tuple[dict[str, _Definition], dict[str, str]]:
    """Top-level functions and classes of the notebook, and what each imported name refers to."""
    cells = tuple(
        (
            cell.get("cell_type", ""),
            cell["source"],
            bool(meta.get("grade")) and not meta.get("solution"),
            meta.get("grade_id", ""),
        )
        for cell in notebook.cells
        for meta in [cell["metadata"].get("nbgrader", {})]
    )
    return _parse(cells)


@functools.lru_cache(maxsize=8)  # every item's check of a notebook parses the same cells
def _parse(
    cells: tuple[tuple[str, str, bool, str], ...],
) -> tuple[dict[str, _Definition], dict[str, str]]:
    definitions: dict[str, _Definition] = {}
    aliases: dict[str, str] = {}
    for index, (cell_type, cell_source, is_test, grade_id) in enumerate(cells):
        if cell_type != "code" or is_test:
            continue
        source = "\n".join(
            "pass" if line.lstrip().startswith(("%", "!")) else line
            for line in cell_source.splitlines()
        )
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        key = f"cell {index + 1}" + (f" '{grade_id}'" if grade_id else "")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    aliases[(alias.asname or alias.name).split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                definitions[node.name] = _Definition(node, key)
    return definitions, aliases


def shortcuts(
    notebook: Notebook,
    names: tuple[str, ...],
    forbidden_modules: tuple[str, ...],
    replaced: tuple[str, ...] = (),
) -> list[Shortcut]:
    """Forbidden uses in the definitions of ``names`` and in the notebook's functions they use
    (but not in ``replaced``: the graders run the item with their reference versions of those)."""
    definitions, aliases = _definitions_and_aliases(notebook)
    forbidden = {
        alias: target
        for alias, target in aliases.items()
        if target.split(".")[0] in forbidden_modules
    }
    pending = [name for name in names if name in definitions]
    seen: set[str] = set(replaced)
    found: list[Shortcut] = []
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        definition = definitions[name]
        for node in ast.walk(definition.node):
            where = f"line {getattr(node, 'lineno', '?')} of {definition.cell}"
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id in forbidden:
                    found.append(Shortcut(name, f"uses {forbidden[node.id]}", where))
                elif node.id in FORBIDDEN_CALLS:
                    found.append(Shortcut(name, f"calls {node.id}()", where))
                elif node.id in definitions and node.id not in seen:
                    pending.append(node.id)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                modules = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for module in modules:
                    if module.split(".")[0] in forbidden_modules:
                        found.append(Shortcut(name, f"imports {module}", where))
            elif (
                isinstance(node, ast.Attribute)
                and node.attr == "modules"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            ):
                found.append(Shortcut(name, "looks up loaded modules (sys.modules)", where))
            elif isinstance(node, ast.Constant) and any(
                text in str(node.value) for text in FORBIDDEN_TEXT
            ):
                found.append(Shortcut(name, "names the graders or the reference", where))
    return found
