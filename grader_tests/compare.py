"""The engine's check helpers (:mod:`gradekit.core.compare`) with this course's value tolerances as
defaults: every failing check says what was compared with which oracle, on what input shape, how
large the error is and where, and names a known mistake the answer equals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gradekit.core import compare
from gradekit.core.compare import as_array, check_true, fail, likely_mistake, shape_of
from grader_tests.tolerances import VALUE_ATOL, VALUE_RTOL

__all__ = ["as_array", "check_close", "check_true", "fail", "likely_mistake", "shape_of"]


def check_close(
    got: Any,
    expected: Any,
    *,
    what: str,
    oracle: str,
    on: str,
    rtol: float = VALUE_RTOL,
    atol: float = VALUE_ATOL,
    mistakes: Mapping[str, Any] | None = None,
) -> None:
    """:func:`gradekit.core.compare.check_close` with the course's tolerances unless given."""
    compare.check_close(
        got, expected, what=what, oracle=oracle, on=on, rtol=rtol, atol=atol, mistakes=mistakes
    )
