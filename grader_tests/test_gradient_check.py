"""Hidden checks of the student's gradient checker (grade cell ``gradient_check``):
``numerical_gradient(f, x, eps=1e-5)`` and ``relative_error(a, b)``, against
``reference_impl.gradcheck`` in the trusted process.

The functions ``f`` are written as source text, evaluated in the student's process (with the
student's NumPy) and in the trusted one; the points ``x`` keep away from the kinks of ReLU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import reference_impl as ref
from grader_tests.compare import check_close, check_true
from grader_tests.tolerances import GRADCHECK_ATOL, GRADCHECK_RTOL, VALUE_ATOL, VALUE_RTOL

EPS = 1e-5
#: ReLU inputs stay this far from 0: the step eps never crosses the kink.
KINK_MARGIN = 0.1


def literal(array: np.ndarray) -> str:
    """A NumPy expression that rebuilds ``array`` exactly (``repr`` of floats round-trips)."""
    return f"np.array({np.asarray(array).tolist()!r})"


def away_from_zero(rng, shape) -> np.ndarray:
    values = rng.normal(size=shape)
    return np.sign(values) * (KINK_MARGIN + np.abs(values))


#: name -> (shape of x, f's source with the constants C drawn for it, a function of x and C)
FUNCTIONS: dict[str, tuple[tuple[int, ...], str]] = {
    "cubic-vector": ((5,), "lambda x: float(np.sum(x**3) - 2.0 * np.sum(x))"),
    "quadratic-form": ((3, 3), "lambda x: float(np.sum(x * (C @ x)))"),
    "tanh-tensor": ((2, 3, 4), "lambda x: float(np.sum(np.tanh(x) * C))"),
    "relu-layer": ((4, 4), "lambda x: float(np.sum(np.maximum(x, 0.0) * C) + np.sum(x**2))"),
    "exp-single": ((1,), "lambda x: float(3.0 * np.exp(x[0]))"),
}


def draw(rng, name: str) -> tuple[np.ndarray, np.ndarray]:
    shape, _ = FUNCTIONS[name]
    x = away_from_zero(rng, shape) if name == "relu-layer" else rng.normal(size=shape)
    constants = rng.normal(size=(3, 3) if name == "quadratic-form" else shape)
    return x, constants


def trusted_function(name: str, constants: np.ndarray):
    return eval(FUNCTIONS[name][1], {"np": np, "C": constants})  # the graders' own text


def forward_difference(f, x: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros_like(x)
    base = f(x)
    for index in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[index] += eps
        grad[index] = (f(shifted) - base) / eps
    return grad


@pytest.mark.grade_cell("gradient_check")
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_numerical_gradient_matches_reference(student, rng, name):
    x, constants = draw(rng, name)
    source = FUNCTIONS[name][1]
    expression = (
        f"(lambda np: (lambda C, x: (numerical_gradient({source}, x), x))"
        f"({literal(constants)}, {literal(x)}))(__import__('numpy'))"
    )
    result = student.evaluate(expression, "numerical_gradient(f, x)")
    got, x_after = result
    f = trusted_function(name, constants)
    expected = ref.numerical_gradient(f, x, EPS)
    check_close(
        got,
        expected,
        what="numerical_gradient(f, x)",
        oracle="reference central differences with eps = 1e-5",
        on=f"a smooth function of an input of shape {x.shape}",
        rtol=GRADCHECK_RTOL,
        atol=GRADCHECK_ATOL,
        mistakes={
            "a one-sided difference (f(x + eps) - f(x)) / eps instead of the central one": (
                forward_difference(f, x, EPS)
            ),
            "the difference is divided by eps instead of 2 eps": 2 * expected,
            "a different step: the default is eps = 1e-5": ref.numerical_gradient(f, x, 1e-6),
        },
    )
    check_close(
        x_after,
        x,
        what="x after numerical_gradient(f, x)",
        oracle="x before the call",
        on=f"an input of shape {x.shape}",
        rtol=0,
        atol=0,
        mistakes={},
    )


@pytest.mark.grade_cell("gradient_check")
def test_numerical_gradient_uses_the_given_step(student, rng):
    """A step given by the caller is used (eps = 1e-3 changes the result measurably)."""
    x = rng.normal(size=(4,))
    expression = (
        "(lambda np: numerical_gradient(lambda x: float(np.sum(np.sin(5.0 * x))), "
        f"{literal(x)}, eps=1e-3))(__import__('numpy'))"
    )
    got = student.evaluate(expression, "numerical_gradient(f, x, eps=1e-3)")
    expected = ref.numerical_gradient(lambda v: float(np.sum(np.sin(5.0 * v))), x, 1e-3)
    check_close(
        got,
        expected,
        what="numerical_gradient(f, x, eps=1e-3)",
        oracle="reference central differences with eps = 1e-3",
        on=f"a smooth function of an input of shape {x.shape}",
        rtol=GRADCHECK_RTOL,
        atol=GRADCHECK_ATOL,
        mistakes={
            "the eps argument is ignored": ref.numerical_gradient(
                lambda v: float(np.sum(np.sin(5.0 * v))), x, EPS
            )
        },
    )


def pair(rng, case: str) -> tuple[np.ndarray, np.ndarray]:
    a = rng.normal(size=(3, 4))
    if case == "close":
        return a, a + 1e-7 * rng.normal(size=a.shape)
    if case == "different":
        return a, rng.normal(size=a.shape)
    if case == "equal":
        return a, a.copy()
    if case == "both-zero":
        return np.zeros(5), np.zeros(5)
    if case == "one-zero":
        return np.zeros((2, 2)), rng.normal(size=(2, 2))
    return 1e-8 * a, 2e-8 * a  # "tiny": scale-free


@pytest.mark.grade_cell("gradient_check")
@pytest.mark.parametrize("case", ["close", "different", "equal", "both-zero", "one-zero", "tiny"])
def test_relative_error_matches_reference(student, rng, case):
    a, b = pair(rng, case)
    got = student.call("relative_error", a, b)
    check_true(
        np.ndim(got) == 0 and got is not None,
        f"relative_error(a, b) should return one number, got {type(got).__name__}",
    )
    expected = ref.relative_error(a, b)
    mistakes: dict[str, Any] = {}
    if np.linalg.norm(a) > 0:
        mistakes["divided by ||a|| only (use max(||a||, ||b||))"] = np.linalg.norm(
            a - b
        ) / np.linalg.norm(a)
    if np.linalg.norm(a) + np.linalg.norm(b) > 0:
        mistakes["divided by ||a|| + ||b|| (use max(||a||, ||b||))"] = np.linalg.norm(a - b) / (
            np.linalg.norm(a) + np.linalg.norm(b)
        )
    check_close(
        got,
        expected,
        what="relative_error(a, b)",
        oracle="reference ||a - b|| / max(||a||, ||b||)",
        on=f"two arrays of shape {a.shape} ({case})",
        rtol=VALUE_RTOL,
        atol=VALUE_ATOL,
        mistakes=mistakes,
    )
