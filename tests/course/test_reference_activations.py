"""reference_impl.activations against PyTorch (float64) and the conventions of student_api.md."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader_tests.tolerances import REFERENCE_ATOL, REFERENCE_RTOL
from reference_impl import activations as act
from reference_impl import derivatives as der

SHAPES = {"scalar": (), "vector": (7,), "matrix": (5, 3), "tensor3": (2, 3, 4), "batch1": (1, 1)}

# name -> (reference function, torch counterpart)
VALUES: dict[str, tuple[Callable[..., np.ndarray], Callable[[torch.Tensor], torch.Tensor]]] = {
    "relu": (act.relu, torch.relu),
    "tanh": (act.tanh, torch.tanh),
    "sigmoid": (act.sigmoid, torch.sigmoid),
    "leaky_relu-default": (act.leaky_relu, lambda t: torch.nn.functional.leaky_relu(t, 0.01)),
    "leaky_relu-alpha0.2": (
        lambda x: act.leaky_relu(x, alpha=0.2),
        lambda t: torch.nn.functional.leaky_relu(t, 0.2),
    ),
}

# name -> (reference derivative, torch function whose autograd gives that derivative)
DERIVATIVES: dict[str, tuple[Callable[..., np.ndarray], Callable[[torch.Tensor], torch.Tensor]]] = {
    "relu": (der.relu_derivative, torch.relu),
    "tanh": (der.tanh_derivative, torch.tanh),
    "sigmoid": (der.sigmoid_derivative, torch.sigmoid),
    "leaky_relu-default": (
        der.leaky_relu_derivative,
        lambda t: torch.nn.functional.leaky_relu(t, 0.01),
    ),
    "leaky_relu-alpha0.2": (
        lambda x: der.leaky_relu_derivative(x, alpha=0.2),
        lambda t: torch.nn.functional.leaky_relu(t, 0.2),
    ),
}

ALL_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "relu": act.relu,
    "tanh": act.tanh,
    "sigmoid": act.sigmoid,
    "leaky_relu": act.leaky_relu,
    "relu_derivative": der.relu_derivative,
    "tanh_derivative": der.tanh_derivative,
    "sigmoid_derivative": der.sigmoid_derivative,
    "leaky_relu_derivative": der.leaky_relu_derivative,
}


def probe(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Random float64 inputs in ±[0.05, 6]: both signs, away from the kink at 0."""
    rng = np.random.default_rng(seed)
    magnitude = rng.uniform(0.05, 6.0, size=shape)
    return np.asarray(magnitude * rng.choice([-1.0, 1.0], size=shape))


def autograd_derivative(torch_fn: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(torch_fn(t).sum(), t)
    return grad.numpy()


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", VALUES.keys())
def test_value_matches_torch(name: str, shape: tuple[int, ...]) -> None:
    ours, theirs = VALUES[name]
    x = probe(shape)
    expected = theirs(torch.tensor(x, dtype=torch.float64)).numpy()
    result = ours(x)
    assert np.shape(result) == shape
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", DERIVATIVES.keys())
def test_derivative_matches_autograd(name: str, shape: tuple[int, ...]) -> None:
    ours, torch_fn = DERIVATIVES[name]
    x = probe(shape, seed=1)
    result = ours(x)
    assert np.shape(result) == shape
    np.testing.assert_allclose(
        result, autograd_derivative(torch_fn, x), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )


def test_sigmoid_tails_match_torch() -> None:
    x = np.linspace(-700.0, 700.0, 2801)
    expected = torch.sigmoid(torch.tensor(x, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(act.sigmoid(x), expected, rtol=REFERENCE_RTOL, atol=0.0)


def test_relu_derivative_at_zero_is_zero() -> None:
    assert der.relu_derivative(np.array([0.0, -0.0]))[0] == 0.0
    assert der.relu_derivative(np.array([0.0, -0.0]))[1] == 0.0


@pytest.mark.parametrize("alpha", [0.01, 0.2], ids=["alpha0.01", "alpha0.2"])
def test_leaky_relu_derivative_at_zero_is_alpha(alpha: float) -> None:
    assert der.leaky_relu_derivative(np.array([0.0]), alpha=alpha)[0] == alpha


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_piecewise_linear_value_at_zero_is_zero(name: str) -> None:
    assert ALL_FUNCTIONS[name](np.array([0.0]))[0] == 0.0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tanh", 0.0),
        ("sigmoid", 0.5),
        ("tanh_derivative", 1.0),
        ("sigmoid_derivative", 0.25),
    ],
)
def test_smooth_function_value_at_zero(name: str, expected: float) -> None:
    assert ALL_FUNCTIONS[name](np.array([0.0]))[0] == expected


STABILITY = {
    "sigmoid": (act.sigmoid, [0.0, 1.0]),
    "tanh": (act.tanh, [-1.0, 1.0]),
    "sigmoid_derivative": (der.sigmoid_derivative, [0.0, 0.0]),
    "tanh_derivative": (der.tanh_derivative, [0.0, 0.0]),
}


@pytest.mark.parametrize("name", STABILITY.keys())
def test_saturating_functions_finite_and_warning_free_at_1e4(name: str) -> None:
    fn, expected = STABILITY[name]
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        result = fn(np.array([-1e4, 1e4]))
    assert np.all(np.isfinite(result))
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("name", ALL_FUNCTIONS.keys())
def test_does_not_mutate_input_and_returns_new_array(name: str) -> None:
    x = probe((4, 3), seed=2)
    x[0, 0] = 0.0
    before = x.copy()
    result = ALL_FUNCTIONS[name](x)
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(result, x)
    assert result.dtype == np.float64


@pytest.mark.parametrize("name", ALL_FUNCTIONS.keys())
def test_integer_input_gives_float_output(name: str) -> None:
    result = ALL_FUNCTIONS[name](np.array([-2, 0, 3]))
    assert result.dtype == np.float64
    np.testing.assert_allclose(
        result, ALL_FUNCTIONS[name](np.array([-2.0, 0.0, 3.0])), rtol=0, atol=0
    )


@given(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False))
def test_sigmoid_is_symmetric_and_in_unit_interval(x: float) -> None:
    s, s_neg = act.sigmoid(np.array([x, -x]))
    assert 0.0 <= s <= 1.0
    np.testing.assert_allclose(s + s_neg, 1.0, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
