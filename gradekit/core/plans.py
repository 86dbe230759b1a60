"""Which student process runs which grade cell's checks, and what reference code it may hold.

A check of a later item often runs the student's code with *reference* versions of earlier items
(so that a bug in ``relu`` is not charged again in ``Model.forward``), and some checks put
reference objects into the student's process. Reference code in a student's process is reachable
by the student's code, so a process may hold the reference modules of items that are *not*
graded in it, never of one that is. Packages a cell's checks must not find (a library that would
do the work of an item written from scratch) are absent from its process altogether.

The course declares this (:class:`Assignment`: per grade cell, the names it grades, the
reference names its checks need, the packages it runs without; per reference module, the grade
cells whose answers it computes). :func:`plan_processes` groups a notebook's grade cells into as
few student processes as these rules allow; each :class:`ProcessPlan` lists its cells, the
reference modules it ships and the names put in place before the notebook loads. A reference
module the course did not declare is never shipped.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.core.libraries import NO_LIBRARIES, Libraries


class PlanError(ValueError):
    """The course's declaration cannot be honoured (a mistake of the course, not the student)."""


@dataclass(frozen=True)
class CellRule:
    """What the course declares about one grade cell.

    Attributes:
        grades: The notebook's names the cell's checks judge.
        replaces: Earlier items its checks run with reference versions (they are also put in
            place before loading when the notebook itself does not grade them).
        reference: Further reference names its checks put into the student's process.
        without: Packages absent from the student's process for its checks.
    """

    grades: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    without: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    """The course's declaration for grading an assignment.

    Attributes:
        cells: Grade id -> its rule (a cell without one gets an empty rule).
        reference: Folder of the reference package (a flat package of modules), if any.
        answers: Reference module name -> grade ids whose answers it computes. Only these
            modules may be shipped to a student's process.
        libraries: What the engine must know of the libraries beyond Python and NumPy that the
            assignment uses: how to seed them, their array types that cross to the student's
            process, their type names and messages the feedback may show.
    """

    cells: dict[str, CellRule] = field(default_factory=dict)
    reference: Path | None = None
    answers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    libraries: Libraries = NO_LIBRARIES

    def rule(self, grade_id: str) -> CellRule:
        return self.cells.get(grade_id, CellRule())


@dataclass(frozen=True)
class ReferencePackage:
    """Reference modules sent to a student's process as text, under the package's name."""

    name: str
    modules: dict[str, str]


@dataclass(frozen=True)
class ProcessPlan:
    """One student process of a notebook.

    Attributes:
        cells: Grade ids whose checks run in it.
        modules: Reference modules it holds.
        provided: Reference names put into the notebook's namespace before it loads.
        without: Packages absent from it.
    """

    cells: tuple[str, ...]
    modules: tuple[str, ...] = ()
    provided: tuple[str, ...] = ()
    without: tuple[str, ...] = ()

    def package(self, assignment: Assignment) -> ReferencePackage | None:
        """The reference modules to install in the process (``None`` if it holds none)."""
        if not self.modules or assignment.reference is None:
            return None
        folder = assignment.reference
        modules = {
            name: (folder / f"{name}.py").read_text(encoding="utf-8") for name in self.modules
        }
        modules["__init__"] = "".join(f"from .{name} import *\n" for name in self.modules)
        return ReferencePackage(name=folder.name, modules=modules)


class ReferenceIndex:
    """Where each reference name is defined, and which modules each module imports."""

    def __init__(self, folder: Path):
        self.defined_in: dict[str, str] = {}
        self.imports: dict[str, set[str]] = {}
        for path in sorted(folder.glob("*.py")):
            if path.stem == "__init__":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            self.imports[path.stem] = {
                node.module.split(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
            }
            for name in _top_level_names(tree):
                self.defined_in.setdefault(name, path.stem)

    def modules_for(self, names: Iterable[str]) -> set[str]:
        """The modules that define ``names``, with every module they import (transitively)."""
        pending = []
        for name in names:
            if name not in self.defined_in:
                raise PlanError(f"the reference package defines no name {name!r}")
            pending.append(self.defined_in[name])
        found: set[str] = set()
        while pending:
            module = pending.pop()
            if module not in found:
                found.add(module)
                pending.extend(self.imports.get(module, ()))
        return found


def plan_processes(grade_ids: Sequence[str], assignment: Assignment) -> list[ProcessPlan]:
    """Group a notebook's grade cells into student processes (in notebook order).

    Args:
        grade_ids: The notebook's autograded grade ids.
        assignment: The course's declaration.

    Returns:
        One plan per process; every grade id is in exactly one.

    Raises:
        PlanError: If a cell needs a reference module that is not declared shippable or that
            computes the cell's own answers.
    """
    index = ReferenceIndex(assignment.reference) if assignment.reference else None
    needs: dict[str, set[str]] = {}
    for grade_id in grade_ids:
        rule = assignment.rule(grade_id)
        names = (*rule.replaces, *rule.reference)
        if names and index is None:
            raise PlanError(f"grade cell {grade_id!r} needs reference names but there is none")
        modules = index.modules_for(names) if index and names else set()
        for module in sorted(modules):
            if module not in assignment.answers:
                raise PlanError(
                    f"grade cell {grade_id!r} needs the reference module {module!r}, which the "
                    "course does not declare as one that may be shipped"
                )
            if grade_id in assignment.answers[module]:
                raise PlanError(
                    f"grade cell {grade_id!r} needs the reference module {module!r}, which "
                    "computes its own answers"
                )
        needs[grade_id] = modules
    groups: list[list[str]] = []
    for grade_id in grade_ids:
        for group in groups:
            if _compatible([*group, grade_id], needs, assignment):
                group.append(grade_id)
                break
        else:
            groups.append([grade_id])
    graded = {name for grade_id in grade_ids for name in assignment.rule(grade_id).grades}
    plans = []
    for group in groups:
        replaced = dict.fromkeys(name for g in group for name in assignment.rule(g).replaces)
        plans.append(
            ProcessPlan(
                cells=tuple(group),
                modules=tuple(sorted(set().union(*(needs[g] for g in group)))),
                provided=tuple(name for name in replaced if name not in graded),
                without=assignment.rule(group[0]).without,
            )
        )
    return plans


def _compatible(group: list[str], needs: dict[str, set[str]], assignment: Assignment) -> bool:
    """Whether these cells can share a process: the same absent packages, and no module shipped
    for one of them computes the answers of another."""
    if len({tuple(sorted(assignment.rule(g).without)) for g in group}) > 1:
        return False
    shipped = set().union(*(needs[g] for g in group))
    return not any(g in assignment.answers.get(module, ()) for module in shipped for g in group)


def _top_level_names(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names
