"""Helpers for a course's checks: compare a student's result with an oracle, say what went wrong.

Every failing check says what was compared with which oracle, on what input shape, how large the
largest error is and where, and, when the student's result equals what a known mistake produces,
names the likely mistake. Messages never contain hidden input values or reference code.
Tolerances are the course's (``rtol``/``atol`` are required); :func:`central_differences` is the
finite-difference oracle for a scalar function of one array.

A named mistake travels as a field: the failure raised here carries it (``CheckFailed.mistake``),
the engine's pytest plugin stores it in the check's result, and the report counts it from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import numpy as np
import pytest

#: A student's result "is" a known mistake when it matches the mistake's output this closely.
MISTAKE_RTOL = 1e-6
MISTAKE_ATOL = 1e-8


class CheckFailed(pytest.fail.Exception):  # type: ignore[name-defined]
    """A failed check whose message is for the student, with the mistake it names (or "")."""

    def __init__(self, message: str, mistake: str = "") -> None:
        super().__init__(message, pytrace=False)
        self.mistake = mistake


def fail(message: str, *, mistake: str = "") -> NoReturn:
    """Fail the check with ``message``; ``mistake`` is appended as "Likely mistake: …"."""
    if mistake:
        message = f"{message.rstrip('. ')}. Likely mistake: {mistake.rstrip('.')}."
    raise CheckFailed(message, mistake.rstrip("."))


def as_array(value: Any, *, what: str) -> np.ndarray:
    """The student's result as a float64 array, or a failed check saying why it is not one."""
    if value is None:
        fail(f"{what} returned None (is a `return` missing?)")
    if hasattr(value, "detach"):  # a tensor that records gradients: its values
        value = value.detach().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{what} returned a {type(value).__name__}, expected numbers")
    return array


def check_close(
    got: Any,
    expected: Any,
    *,
    what: str,
    oracle: str,
    on: str,
    rtol: float,
    atol: float,
    mistakes: Mapping[str, Any] | None = None,
) -> None:
    """Fail the check unless ``got`` equals ``expected`` within ``rtol``/``atol``.

    Args:
        got: The student's result.
        expected: The oracle's result.
        what: The compared quantity, e.g. ``"relu(x)"`` or ``"dW[0] from backward"``.
        oracle: Who computed ``expected``, e.g. ``"the reference"`` or ``"central differences"``.
        on: The input, described without its values, e.g. ``"an input of shape (4, 3)"``.
        rtol: Relative tolerance.
        atol: Absolute tolerance.
        mistakes: Known mistakes and the result each one produces (name -> array); the first
            one the student's result equals is named in the message.
    """
    expected = np.asarray(expected, dtype=np.float64)
    got = as_array(got, what=what)
    intro = f"{what} compared with {oracle} on {on}"
    if got.shape != expected.shape:
        mistake, advice = _shape_hint(got.shape, expected.shape)
        fail(f"{intro}: expected shape {expected.shape}, got {got.shape}.{advice}", mistake=mistake)
    if np.isfinite(expected).all() and not np.isfinite(got).all():
        where = _index(np.argwhere(~np.isfinite(got))[0])
        fail(
            f"{intro}: got NaN or infinity at index {where} where a finite value was expected "
            "(an overflow? use a numerically stable formula)."
        )
    error = np.abs(got - expected)
    excess = error - (atol + rtol * np.abs(expected))
    if (excess <= 0).all():
        return
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.ndim else ()
    largest = float(error[worst])
    relative = largest / max(float(np.abs(expected[worst])), 1e-300)
    message = (
        f"{intro}: largest error {largest:.3g} (relative {relative:.2g}) at index {_index(worst)}"
    )
    fail(message + ".", mistake=likely_mistake(got, expected, mistakes or {}))


def check_true(condition: bool, message: str, *, mistake: str = "") -> None:
    """Fail the check with ``message`` (and the ``mistake`` it names) unless ``condition``."""
    if not condition:
        fail(message, mistake=mistake)


def likely_mistake(got: np.ndarray, expected: np.ndarray, mistakes: Mapping[str, Any]) -> str:
    """The name of the first known mistake whose output equals ``got`` (or ``""``)."""
    candidates = dict(mistakes)
    if np.abs(expected).max(initial=0.0) > 0:
        candidates.setdefault("the sign is flipped", -expected)
    for name, output in candidates.items():
        output = np.asarray(output, dtype=np.float64)
        if output.shape == got.shape and np.allclose(
            got, output, rtol=MISTAKE_RTOL, atol=MISTAKE_ATOL
        ):
            return name
    return ""


def shape_of(value: Any) -> str:
    """``"an input of shape (4, 3)"`` (never the values)."""
    return f"an input of shape {tuple(np.shape(value))}"


def _index(index: Any) -> str:
    return str(tuple(int(i) for i in index))


def _shape_hint(got: tuple[int, ...], expected: tuple[int, ...]) -> tuple[str, str]:
    """The mistake a wrong shape suggests, or advice when it suggests none."""
    if got == expected[::-1] and len(got) == 2:
        return "a transposed matrix (check the order of a matrix product)", ""
    if int(np.prod(got)) == int(np.prod(expected)):
        return (
            "",
            " Same numbers of entries: reshape the result (e.g. keep the column shape (m, 1)).",
        )
    if len(got) == len(expected) + 1 or len(got) + 1 == len(expected):
        return "a sum or mean without keepdims=True, or over the wrong axis", ""
    return "", ""


def central_differences(
    f: Callable[[np.ndarray], float], x: np.ndarray, *, step: float
) -> np.ndarray:
    """The gradient of the scalar function ``f`` at ``x`` by central differences.

    Args:
        f: A function of an array of ``x``'s shape, returning a number.
        x: Where to differentiate, any shape (not changed).
        step: The difference step (about 1e-6 in float64).

    Returns:
        ``(f(x + step e_i) - f(x - step e_i)) / (2 step)`` for every entry ``i``: shape of ``x``.
    """
    x = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + step
        above = float(f(x))
        x[index] = saved - step
        below = float(f(x))
        x[index] = saved
        gradient[index] = (above - below) / (2 * step)
    return gradient
