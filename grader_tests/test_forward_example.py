"""Hidden checks of the hand-worked example of notebook 1: ``two_layer_forward`` (grade cell
``forward_example``, run with the reference ``relu`` and ``sigmoid``, so a bug there is charged
only once): its inputs stay unchanged (here) and each output matches the reference and an
identical ``torch.nn`` model (rows of the table in ``test_oracles.py``, built from the helpers
here); and the ``by_hand`` dict (grade cell ``by_hand``), each value against the exact answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

import reference_impl as ref
from grader_tests import oracles
from grader_tests.compare import check_close, check_true, shape_of
from grader_tests.networks import KINK_MARGIN
from grader_tests.tolerances import BY_HAND_ATOL

FUNCTION = "two_layer_forward"
OUTPUTS = ("z1", "a1", "z2", "y_hat")
#: (m, n, h): samples, input features, hidden neurons.
SHAPES = {
    "batch1": (1, 2, 3),
    "single-feature": (6, 1, 4),
    "lecture": (10, 2, 3),
    "wide": (8, 5, 7),
}
TORCH_SHAPES = {key: SHAPES[key] for key in ("batch1", "wide")}


@dataclass
class Example:
    """Hidden inputs of one check."""

    X: np.ndarray
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray

    @property
    def arguments(self) -> list[np.ndarray]:
        return [self.X, self.W1, self.b1, self.W2, self.b2]

    @property
    def on(self) -> str:
        return f"{shape_of(self.X)} with {self.W1.shape[1]} hidden neurons"


def draw_example(rng: np.random.Generator, shape: tuple[int, int, int]) -> Example:
    """Random inputs whose hidden pre-activations are away from ReLU's kink."""
    m, n, h = shape
    for _ in range(100):
        example = Example(
            X=rng.normal(size=(m, n)),
            W1=rng.normal(scale=1.5 / np.sqrt(n), size=(n, h)),
            b1=rng.normal(scale=0.5, size=(1, h)),
            W2=rng.normal(scale=1.5 / np.sqrt(h), size=(h, 1)),
            b2=rng.normal(scale=0.5, size=(1, 1)),
        )
        if np.abs(example.X @ example.W1 + example.b1).min() > KINK_MARGIN:
            return example
    raise RuntimeError("could not draw inputs away from the kink")  # pragma: no cover


def chain(
    example: Example,
    *,
    hidden=ref.relu,
    output=ref.sigmoid,
    b1: bool = True,
    b2: bool = True,
    z2_from_z1: bool = False,
) -> tuple[np.ndarray, ...]:
    """The forward pass, optionally with a known mistake built in."""
    z1 = example.X @ example.W1 + (example.b1 if b1 else 0)
    a1 = hidden(z1)
    z2 = (z1 if z2_from_z1 else a1) @ example.W2 + (example.b2 if b2 else 0)
    return z1, a1, z2, output(z2)


def mistakes_for(example: Example, index: int, expected: np.ndarray) -> dict[str, np.ndarray]:
    """The known mistakes whose ``OUTPUTS[index]`` differs from the correct one."""
    variants = {
        "the hidden layer uses sigmoid instead of relu": chain(example, hidden=ref.sigmoid),
        "relu is missing on the hidden layer (a1 = z1)": chain(example, hidden=lambda z: z),
        "the bias b1 is left out": chain(example, b1=False),
        "the bias b2 is left out": chain(example, b2=False),
        "z2 is computed from z1 instead of a1 = relu(z1)": chain(example, z2_from_z1=True),
        "the output sigmoid is missing (y_hat = z2)": chain(example, output=lambda z: z),
        "the output layer uses relu instead of sigmoid": chain(example, output=ref.relu),
    }
    return {
        name: outputs[index]
        for name, outputs in variants.items()
        if not np.allclose(outputs[index], expected)
    }


def outputs_of(result: Any) -> tuple[Any, ...]:
    check_true(
        isinstance(result, tuple | list) and len(result) == len(OUTPUTS),
        f"{FUNCTION}(X, W1, b1, W2, b2) should return the 4 arrays (z1, a1, z2, y_hat); "
        f"got {type(result).__name__}"
        + (f" of length {len(result)}" if isinstance(result, tuple | list) else ""),
    )
    return tuple(result)


def torch_outputs(example: Example) -> tuple[np.ndarray, ...]:
    """``z1, a1, z2, y_hat`` of two ``nn.Linear`` layers with ``nn.ReLU`` and a sigmoid."""
    model = oracles.torch_network(
        [example.W1, example.W2], [example.b1, example.b2], activation="relu"
    )
    with torch.no_grad():
        z1 = model[0](oracles.t64(example.X))
        a1 = model[1](z1)
        z2 = model[2](a1)
        y_hat = torch.sigmoid(z2)
    return tuple(t.numpy() for t in (z1, a1, z2, y_hat))


def answer(index: int, student, example: Example) -> Any:
    """``OUTPUTS[index]`` of the student's ``two_layer_forward``."""
    return outputs_of(student.call(FUNCTION, *example.arguments))[index]


def reference_output(index: int, example: Example) -> np.ndarray:
    return ref.two_layer_forward(*example.arguments)[index]


def torch_output(index: int, example: Example) -> np.ndarray:
    return torch_outputs(example)[index]


def check_output(
    index: int, got: Any, expected: np.ndarray, example: Example, *, oracle: str, **tolerances
) -> None:
    check_close(
        got,
        expected,
        what=f"{OUTPUTS[index]} from {FUNCTION}(X, W1, b1, W2, b2)",
        oracle=oracle,
        on=example.on,
        mistakes=mistakes_for(example, index, expected),
        **tolerances,
    )


# -- forward_example --------------------------------------------------------------------------


@pytest.mark.grade_cell("forward_example")
def test_does_not_modify_its_inputs(student, rng):
    example = draw_example(rng, SHAPES["lecture"])
    after = student.invoke(FUNCTION, example.arguments, return_args=True).args_after
    changed = [
        name
        for name, before, now in zip(
            ["X", "W1", "b1", "W2", "b2"], example.arguments, after[0], strict=True
        )
        if not np.array_equal(before, now)
    ]
    check_true(
        not changed,
        f"{FUNCTION} changed the caller's {', '.join(changed)}: compute new arrays instead",
    )


# -- by_hand ----------------------------------------------------------------------------------

#: Known wrong answers of the hand-worked exercise (name -> value).
BY_HAND_MISTAKES: dict[str, dict[str, Any]] = {
    "relu(2)": {},
    "relu(-2)": {"ReLU(-2) is 0: ReLU keeps positive inputs and sets negative ones to 0": -2.0},
    "tanh(1)": {
        "this is sigmoid(1); tanh(1) = (e - 1/e) / (e + 1/e)": float(ref.sigmoid(1.0)),
        "this is 1 - tanh(1)**2, the derivative of tanh at 1": float(ref.tanh_derivative(1.0)),
    },
    "sigmoid(0)": {"sigmoid(0) = 1 / (1 + e^0) = 1 / 2": 0.0},
    "relu_layer": {
        "W @ x computed (the column convention); this assignment uses x @ W + b": list(
            ref.relu(np.array([[0.5, -0.5], [0.3, 0.7]]) @ np.array([1.0, 2.0]) + [0.1, -0.1])
        ),
        "the bias is left out": [1.1, 0.9],
    },
}


def is_number(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, int | float | np.integer | np.floating)


def by_hand_value(student, key: str) -> Any:
    answers = student.get("by_hand")
    keys = sorted(ref.BY_HAND_ANSWERS)
    check_true(
        isinstance(answers, dict),
        f"by_hand should be a dict with the keys {keys}; got {type(answers).__name__}",
    )
    check_true(
        key in answers,
        f"by_hand has no key {key!r} (the keys must be exactly {keys}; "
        f"yours are {sorted(map(str, answers))})",
    )
    return answers[key]


@pytest.mark.grade_cell("by_hand")
@pytest.mark.parametrize("key", list(ref.BY_HAND_ANSWERS))
def test_by_hand_value(student, key):
    value = by_hand_value(student, key)
    expected = ref.BY_HAND_ANSWERS[key]
    if isinstance(expected, list):
        items = list(value) if isinstance(value, list | tuple | np.ndarray) else None
        check_true(
            items is not None and len(items) == len(expected),
            f"by_hand[{key!r}] should be a list of {len(expected)} numbers (one per neuron); "
            f"got {type(value).__name__}",
        )
        check_true(
            all(is_number(item) for item in np.ravel(np.asarray(items, dtype=object))),
            f"by_hand[{key!r}] should hold plain numbers such as 0.25, not text or expressions",
        )
        value = items
    else:
        check_true(
            is_number(value),
            f"by_hand[{key!r}] should be a plain number such as 0.25; got {type(value).__name__}",
        )
    # A hand-worked value is a known wrong answer if it has that answer's 3 decimals.
    mistakes = {
        name: value if np.allclose(value, wrong, rtol=0.0, atol=BY_HAND_ATOL) else wrong
        for name, wrong in BY_HAND_MISTAKES[key].items()
    }
    check_close(
        value,
        expected,
        what=f"by_hand[{key!r}]",
        oracle="the exact value",
        on=f"the exercise's input (at least 3 correct decimals: tolerance {BY_HAND_ATOL:g})",
        rtol=0.0,
        atol=BY_HAND_ATOL,
        mistakes=mistakes,
    )
