"""What loading a notebook's definitions into the student's process did, cell by cell.

A :class:`LoadReport` (read from the worker's answer by :func:`read_load_report`) holds one
:class:`CellLoad` per cell and what the loading rule kept and skipped of it, and explains why a
name a check needs is missing: a statement that failed or ran too long, or one the rule skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gradekit.core.disclosure import Disclosure, cap
from gradekit.core.notebook import SourceCell

#: Errors of loading, and warnings of one call, kept at most.
MAX_LOAD_ERRORS = 20


@dataclass(frozen=True)
class CellLoad:
    """What loading one cell's definitions did.

    Attributes:
        key: The cell's readable name.
        defined: Names it defined.
        errors: Its problems, one line each.
        failed: First line of each kept statement that raised or ran too long -> what happened.
    """

    key: str
    defined: tuple[str, ...]
    errors: tuple[str, ...]
    failed: dict[int, str] = field(default_factory=dict)


@dataclass
class LoadReport:
    """The outcome of loading a notebook's definitions.

    Attributes:
        cells: What loading each cell did.
        sources: What the loading rule kept and skipped of each cell (by key).
    """

    cells: list[CellLoad] = field(default_factory=list)
    sources: dict[str, SourceCell] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """One line per cell that did not load cleanly."""
        return [f"{cell.key}: {error}" for cell in self.cells for error in cell.errors]

    def why_missing(self, name: str) -> str:
        """A sentence explaining why ``name`` is not defined."""
        binders = self.binders(name)
        if binders:
            return f"'{name}' is not defined: {binders}"
        problems = self.problems
        if problems:
            shown = "; ".join(problems[:2])
            return f"'{name}' is not defined: loading your notebook failed in {shown}"
        return f"'{name}' is not defined in your notebook (was it renamed or deleted?)"

    def binders(self, name: str) -> str:
        """Why the statements that set ``name`` did not set it: those that failed or ran too
        long, and those the loading rule skipped (empty if none did)."""
        failed = {cell.key: cell.failed for cell in self.cells}
        found = []
        for key, source in self.sources.items():
            for line, names in source.kept.items():
                if name in names and line in failed.get(key, {}):
                    found.append(
                        f"line {line} of {key}, which sets {name}, {failed[key][line]} when "
                        "your definitions were loaded for grading"
                    )
            for skipped in source.skipped:
                if name in skipped.names:
                    found.append(
                        f"line {skipped.line} of {key}, which sets {name}, is not run when your "
                        "definitions are loaded for grading (only imports, def, class and what "
                        f"graded code names run there; {name} is only looked up indirectly, "
                        "e.g. with globals() or eval)"
                    )
        return "; ".join(found[:2])

    def failures_behind(self, plans: list[SourceCell], label: str) -> str:
        """The statements that failed or ran too long among those ``plans`` marks as needed."""
        failed = {cell.key: cell.failed for cell in self.cells}
        found = [
            f"line {line} of {plan.key}, which {label} needs, {failed[plan.key][line]} when your "
            "definitions were loaded for grading"
            for plan in plans
            for line in sorted(plan.needed)
            if line in failed.get(plan.key, {})
        ]
        return "; ".join(found[:2])


def read_load_report(
    cells: list[SourceCell], loaded: Any, *, disclosure: Disclosure, statement_timeout: float
) -> LoadReport:
    """What loading did, cell by cell, in words the disclosure rules allow (at load time
    no hidden input exists yet, but the reference modules do).

    Args:
        cells: The cells sent to the worker, as the loading rule kept them.
        loaded: The worker's answer to the ``load`` request, decoded (one dict per cell).
        disclosure: What of the worker's errors may be said.
        statement_timeout: Seconds one statement could take (for the sentence of one that
            ran too long).
    """
    parse_errors = {cell.key: cell.syntax_error for cell in cells if cell.syntax_error}
    sent = {cell.key: cell for cell in cells}
    report = LoadReport(sources=sent)
    for item in loaded if isinstance(loaded, list) else []:
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or key not in sent:
            continue
        errors = [f"SyntaxError: {parse_errors[key]}"] if key in parse_errors else []
        failed: dict[int, str] = {}
        for error in item.get("errors", [])[:MAX_LOAD_ERRORS]:
            errors.append(_described(error, key, disclosure))
            line = error.get("line") if isinstance(error, dict) else None
            if isinstance(line, int) and line in sent[key].kept and line not in failed:
                failed[line] = _failure(error, disclosure, statement_timeout)
        defined = [name for name in item.get("defined", []) if isinstance(name, str)]
        report.cells.append(CellLoad(key, tuple(defined), tuple(errors), failed))
    return report


def _failure(error: dict[str, Any], disclosure: Disclosure, statement_timeout: float) -> str:
    """What happened to a kept statement while the definitions loaded, as a phrase."""
    if error.get("type") == "StatementTimeout":
        return f"ran longer than the {statement_timeout:g} s a statement may take"
    kind = disclosure.kind(error.get("type"))
    raw = error.get("message")
    message = disclosure.message(kind, raw) if kind == error.get("type") else ""
    return f"raised {kind}: {message}" if message else f"raised {kind}"


def _described(error: Any, key: str, disclosure: Disclosure) -> str:
    """``Type: message (line N)`` of an error while cell ``key`` loaded."""
    error = error if isinstance(error, dict) else {}
    raw_kind = error.get("type")
    kind = disclosure.kind(raw_kind)
    message = disclosure.message(kind, error.get("message")) if kind == raw_kind else ""
    where = disclosure.where(error.get("where"))
    line = f" (line {where.split()[1]})" if where.endswith(f"of {key}") else ""
    return cap(f"{kind}: {message}{line}" if message else f"{kind}{line}")
