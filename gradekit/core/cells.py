"""nbgrader's view of a cell, read in one place: its nbgrader metadata, whether it is an autograded
test cell, and its hidden-tests regions, with the delimiters nbgrader's ``ClearHiddenTests`` is
configured with.

Cells may come from a student's notebook: metadata of the wrong type reads as none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nbgrader.preprocessors import ClearHiddenTests
from traitlets.config import Config


def nbgrader_metadata(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    """The cell's ``metadata.nbgrader`` (empty when absent or not a mapping)."""
    metadata = cell.get("metadata")
    found = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def grade_id(cell: Mapping[str, Any]) -> str | None:
    """The cell's nbgrader grade id, if it has one."""
    value = nbgrader_metadata(cell).get("grade_id")
    return value if isinstance(value, str) and value else None


def is_grade(cell: Mapping[str, Any]) -> bool:
    """A grade cell: autograded test or manually graded answer (nbgrader's ``is_grade``)."""
    return bool(nbgrader_metadata(cell).get("grade", False))


def is_solution(cell: Mapping[str, Any]) -> bool:
    """A cell the student writes (nbgrader's ``is_solution``)."""
    return bool(nbgrader_metadata(cell).get("solution", False))


def is_autograded_test(cell: Mapping[str, Any]) -> bool:
    """A code grade cell that is not a solution: its checks decide its points."""
    return cell.get("cell_type") == "code" and is_grade(cell) and not is_solution(cell)


@dataclass(frozen=True)
class HiddenTests:
    """The delimiters of hidden-test regions in a test cell (nbgrader's ``### BEGIN HIDDEN
    TESTS`` / ``### END HIDDEN TESTS`` unless the course configures others)."""

    begin: str = "BEGIN HIDDEN TESTS"
    end: str = "END HIDDEN TESTS"

    @classmethod
    def from_config(cls, config: Config) -> HiddenTests:
        """The delimiters as ``c.ClearHiddenTests`` sets them for the course."""
        settings = ClearHiddenTests(config=config)
        return cls(begin=settings.begin_test_delimeter, end=settings.end_test_delimeter)

    def removed_from(self, source: str) -> str:
        """``source`` without its hidden-test regions (each from its ``### BEGIN`` line to its
        ``### END`` line, both included)."""
        region = re.compile(
            rf"^[ \t]*### {re.escape(self.begin)}.*?^[ \t]*### {re.escape(self.end)}[^\n]*\n?",
            re.M | re.S,
        )
        return region.sub("", source)
