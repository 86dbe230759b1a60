"""reference_impl.gradcheck: central differences against PyTorch autograd (float64).

A central difference is exact only up to ``eps**2`` truncation and ``1e-16 / eps`` rounding, so
its comparisons use the named finite-difference tolerances; everything exact uses the reference
ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from grader_tests.tolerances import (
    FINITE_DIFFERENCE_ATOL,
    FINITE_DIFFERENCE_RTOL,
    FINITE_DIFFERENCE_STEP,
    REFERENCE_ATOL,
    REFERENCE_RTOL,
)
from reference_impl import (
    MultiClassNeuralNetwork,
    NeuralNetwork,
    numerical_gradient,
    relative_error,
)


def smooth_numpy(x: np.ndarray) -> float:
    return float(np.sum(np.sin(x) * x**2) + np.log1p(np.sum(x**2)) + np.prod(np.tanh(x[..., :1])))


def smooth_torch(x: torch.Tensor) -> torch.Tensor:
    return (
        torch.sum(torch.sin(x) * x**2)
        + torch.log1p(torch.sum(x**2))
        + torch.prod(torch.tanh(x[..., :1]))
    )


SHAPES = {"vector": (5,), "matrix": (3, 4), "tensor3": (2, 2, 3), "single": (1,)}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_numerical_gradient_matches_autograd(shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).normal(size=shape)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(smooth_torch(t), t)
    result = numerical_gradient(smooth_numpy, x, eps=FINITE_DIFFERENCE_STEP)
    assert result.shape == shape
    assert result.dtype == np.float64
    np.testing.assert_allclose(
        result, expected.numpy(), rtol=FINITE_DIFFERENCE_RTOL, atol=FINITE_DIFFERENCE_ATOL
    )


def test_numerical_gradient_is_exact_for_a_linear_function() -> None:
    # For f(x) = c . x both difference quotients are the slope up to rounding of f itself.
    c = np.array([1.5, -2.0, 0.25, 4.0])
    x = np.random.default_rng(1).normal(size=4)
    result = numerical_gradient(lambda v: float(c @ v), x, eps=0.5)
    np.testing.assert_allclose(result, c, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


def test_numerical_gradient_does_not_mutate_x() -> None:
    x = np.random.default_rng(2).normal(size=(3, 3))
    before = x.copy()
    numerical_gradient(smooth_numpy, x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_never_hands_x_itself_to_f() -> None:
    x = np.random.default_rng(3).normal(size=4)
    seen: list[bool] = []

    def f(v: np.ndarray) -> float:
        seen.append(np.shares_memory(v, x))
        return float(np.sum(v**2))

    numerical_gradient(f, x)
    assert seen and not any(seen)


def test_numerical_gradient_accepts_integer_input() -> None:
    result = numerical_gradient(lambda v: float(np.sum(v**2)), np.array([1, -2, 3]))
    assert result.dtype == np.float64
    np.testing.assert_allclose(
        result, [2.0, -4.0, 6.0], rtol=FINITE_DIFFERENCE_RTOL, atol=FINITE_DIFFERENCE_ATOL
    )


# ---------------------------------------------------------------- the networks' backward passes


def loss_of_parameter(
    network: Any, X: np.ndarray, y: np.ndarray, group: str, index: int
) -> Callable[[np.ndarray], float]:
    """The network's loss as a function of one parameter array (restored after every call)."""

    def f(value: np.ndarray) -> float:
        params = getattr(network, group)
        original = params[index]
        params[index] = value
        try:
            return float(network.compute_loss(network.forward(X), y))
        finally:
            params[index] = original

    return f


def gradcheck_cases() -> list[Any]:
    return [
        pytest.param(kind, activation, group, id=f"{activation}-{kind}-{group}")
        for kind in ("binary", "multiclass")
        for activation in ("relu", "tanh", "sigmoid")
        for group in ("weights", "biases")
    ]


@pytest.mark.parametrize(("kind", "activation", "group"), gradcheck_cases())
def test_network_backward_agrees_with_central_differences(
    kind: str, activation: str, group: str
) -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(7, 3))
    np.random.seed(5)
    network: NeuralNetwork | MultiClassNeuralNetwork
    if kind == "binary":
        network = NeuralNetwork([3, 5, 4, 1], activation)
        y: np.ndarray = rng.integers(0, 2, size=(7, 1)).astype(float)
    else:
        network = MultiClassNeuralNetwork([3, 5, 4, 3], activation)
        y = rng.integers(0, 3, size=7)
    network.forward(X)
    dW, db = network.backward(X, y)
    analytic = dW if group == "weights" else db
    for index, param in enumerate(getattr(network, group)):
        f = loss_of_parameter(network, X, y, group, index)
        numeric = numerical_gradient(f, param, eps=FINITE_DIFFERENCE_STEP)
        np.testing.assert_allclose(
            analytic[index], numeric, rtol=FINITE_DIFFERENCE_RTOL, atol=FINITE_DIFFERENCE_ATOL
        )


# ---------------------------------------------------------------- relative_error


def test_relative_error_of_equal_arrays_is_zero() -> None:
    a = np.random.default_rng(6).normal(size=(3, 2))
    assert relative_error(a, a.copy()) == 0.0


def test_relative_error_of_two_zero_arrays_is_zero() -> None:
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_relative_error_is_symmetric() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=5), rng.normal(size=5)
    assert relative_error(a, b) == relative_error(b, a)


def test_relative_error_is_scale_free() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=5), rng.normal(size=5)
    np.testing.assert_allclose(
        relative_error(1e6 * a, 1e6 * b), relative_error(a, b), rtol=REFERENCE_RTOL, atol=0
    )


def test_relative_error_known_value() -> None:
    # ||(3, 4) - (0, 0)|| / max(5, 0) = 1;  ||(1, 0) - (1, 1e-3)|| / ||(1, 1e-3)||
    assert relative_error(np.array([3.0, 4.0]), np.zeros(2)) == 1.0
    expected = 1e-3 / np.hypot(1.0, 1e-3)
    np.testing.assert_allclose(
        relative_error(np.array([1.0, 0.0]), np.array([1.0, 1e-3])),
        expected,
        rtol=REFERENCE_RTOL,
        atol=0,
    )
