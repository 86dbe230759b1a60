"""Hidden checks of the activation functions (grade cell ``activations``) and their derivatives
(grade cell ``derivatives``): extreme inputs, the API's conventions at 0, and no mutation of the
caller's array. Their checks against the reference NumPy implementation, PyTorch (values and
autograd) and central differences are rows of the table in ``test_oracles.py``, built from the
helpers here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import reference_impl as ref
from grader_tests.compare import check_close, check_true, shape_of
from grader_tests.tolerances import (
    FINITE_DIFFERENCE_STEP,
)

ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu"]
DERIVATIVES = [f"{name}_derivative" for name in ACTIVATIONS]
SHAPES = {
    "batch1": (1, 3),
    "single-feature": (6, 1),
    "matrix": (5, 4),
    "vector": (7,),
    "3d": (2, 3, 4),
}
TORCH_SHAPES = {key: SHAPES[key] for key in ("batch1", "matrix")}
#: Central differences cost one pair of evaluations per entry: one small matrix.
CENTRAL_SHAPES = {"matrix-5x3": (5, 3)}
TORCH_FUNCTIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=0.01),
}
#: Inputs this large overflow ``exp`` in a naive formula; the answer must still be finite.
EXTREME = 1e3


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random inputs at least 0.05 away from the kink of ReLU and leaky ReLU."""
    magnitude = 0.05 + np.abs(rng.normal(scale=2.0, size=shape))
    return np.where(rng.random(shape) < 0.5, -magnitude, magnitude)


def forward_mistakes(name: str, x: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "relu": {"returned the input unchanged": x},
        "tanh": {"computed (e^x + e^-x) / (e^x - e^-x), the inverse": 1 / ref.tanh(x)},
        "sigmoid": {
            "1 / (1 + exp(x)): the sign in the exponent is flipped": ref.sigmoid(-x),
            "returned exp(-x) / (1 + exp(-x)), which is 1 - sigmoid(x)": 1 - ref.sigmoid(x),
        },
        "leaky_relu": {
            "alpha applied to the positive side": np.where(x > 0, 0.01 * x, x),
            "this is ReLU (negative inputs must give alpha * x)": ref.relu(x),
        },
    }[name]


def derivative_mistakes(name: str, x: np.ndarray) -> dict[str, np.ndarray]:
    s, t = ref.sigmoid(x), ref.tanh(x)
    at_activation = "evaluated at the activation instead of the pre-activation x"
    return {
        "relu_derivative": {"returned relu(x) instead of its derivative": ref.relu(x)},
        "tanh_derivative": {
            "computed 1 - x**2: the derivative is 1 - tanh(x)**2": 1 - x**2,
            "forgot the square: 1 - tanh(x)": 1 - t,
            at_activation: 1 - ref.tanh(t) ** 2,
        },
        "sigmoid_derivative": {
            "computed x * (1 - x): use s * (1 - s) with s = sigmoid(x)": x * (1 - x),
            "returned sigmoid(x) instead of its derivative": s,
            at_activation: ref.sigmoid_derivative(s),
        },
        "leaky_relu_derivative": {
            "returned 0 for negative inputs (that is ReLU's derivative)": ref.relu_derivative(x),
            "returned the leaky ReLU itself instead of its derivative": ref.leaky_relu(x),
        },
    }[name]


# -- the oracle checks: rows of test_oracles.py -----------------------------------------------


def call(name: str, student, x: np.ndarray):
    return student.call(name, x)


def check_value(name: str, got, expected, x: np.ndarray, *, oracle: str, **tolerances) -> None:
    """``name(x)`` against an oracle's value, naming a known mistake the answer equals."""
    mistakes = derivative_mistakes if name.endswith("_derivative") else forward_mistakes
    check_close(
        got,
        expected,
        what=f"{name}(x)",
        oracle=oracle,
        on=shape_of(x),
        mistakes=mistakes(name, x),
        **tolerances,
    )


def torch_value(name: str, x: np.ndarray) -> np.ndarray:
    return TORCH_FUNCTIONS[name](torch.tensor(x)).numpy()


def autograd_derivative(name: str, x: np.ndarray) -> np.ndarray:
    """The activation's derivative at ``x`` by ``torch.autograd``."""
    inputs = torch.tensor(x, requires_grad=True)
    activation = TORCH_FUNCTIONS[name.removesuffix("_derivative")]
    (expected,) = torch.autograd.grad(activation(inputs).sum(), inputs)
    return expected.numpy()


def central_derivative(name: str, x: np.ndarray) -> np.ndarray:
    """The activation's derivative at ``x`` by central differences of the reference."""
    function = getattr(ref, name.removesuffix("_derivative"))
    return ref.numerical_gradient(lambda v: float(np.sum(function(v))), x, FINITE_DIFFERENCE_STEP)


# -- activations ------------------------------------------------------------------------------


@pytest.mark.grade_cell("activations")
@pytest.mark.weight(2)
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_extreme_inputs_give_finite_values(student, name):
    x = np.array([[-EXTREME, -20.0, 0.0, 20.0, EXTREME]])
    check_close(
        student.call(name, x),
        getattr(ref, name)(x),
        what=f"{name}(x)",
        oracle="the reference implementation",
        on=f"inputs as large as ±{EXTREME:g}",
    )


@pytest.mark.grade_cell("activations")
def test_leaky_relu_uses_alpha(student, rng):
    x = away_from_zero(rng, (4, 3))
    check_close(
        student.call("leaky_relu", x, alpha=0.2),
        ref.leaky_relu(x, alpha=0.2),
        what="leaky_relu(x, alpha=0.2)",
        oracle="the reference implementation",
        on=shape_of(x),
        mistakes={"alpha ignored (0.01 used instead)": ref.leaky_relu(x)},
    )


@pytest.mark.grade_cell("activations")
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_does_not_modify_its_input(student, rng, name):
    x = away_from_zero(rng, (4, 3))
    after = student.invoke(name, [x], return_args=True).args_after
    check_true(
        np.array_equal(after[0][0], x),
        f"{name}(x) changed the caller's array x: compute a new array instead of writing into x",
    )


# -- derivatives ------------------------------------------------------------------------------


@pytest.mark.grade_cell("derivatives")
@pytest.mark.parametrize(
    ("name", "expected", "rule"),
    [
        pytest.param("relu_derivative", 0.0, "the derivative of ReLU at exactly 0 is 0", id="relu"),
        pytest.param(
            "leaky_relu_derivative",
            0.01,
            "the derivative of leaky ReLU at exactly 0 is alpha",
            id="leaky_relu",
        ),
    ],
)
def test_derivative_convention_at_zero(student, name, expected, rule):
    got = student.call(name, np.zeros((2, 2)))
    check_close(
        got,
        np.full((2, 2), expected),
        what=f"{name}(0)",
        oracle=f"the API's convention ({rule})",
        on="an input of zeros of shape (2, 2)",
    )


@pytest.mark.grade_cell("derivatives")
@pytest.mark.parametrize("name", ["sigmoid_derivative", "tanh_derivative"])
def test_derivative_extreme_inputs_give_finite_values(student, name):
    x = np.array([[-EXTREME, -20.0, 0.0, 20.0, EXTREME]])
    check_close(
        student.call(name, x),
        getattr(ref, name)(x),
        what=f"{name}(x)",
        oracle="the reference implementation",
        on=f"inputs as large as ±{EXTREME:g}",
    )


@pytest.mark.grade_cell("derivatives")
def test_leaky_relu_derivative_uses_alpha(student, rng):
    x = away_from_zero(rng, (4, 3))
    check_close(
        student.call("leaky_relu_derivative", x, alpha=0.2),
        ref.leaky_relu_derivative(x, alpha=0.2),
        what="leaky_relu_derivative(x, alpha=0.2)",
        oracle="the reference implementation",
        on=shape_of(x),
        mistakes={"alpha ignored (0.01 used instead)": ref.leaky_relu_derivative(x)},
    )


@pytest.mark.grade_cell("derivatives")
@pytest.mark.parametrize("name", DERIVATIVES)
def test_derivative_does_not_modify_its_input(student, rng, name):
    x = away_from_zero(rng, (4, 3))
    after = student.invoke(name, [x], return_args=True).args_after
    check_true(
        np.array_equal(after[0][0], x),
        f"{name}(x) changed the caller's array x: compute a new array instead of writing into x",
    )
