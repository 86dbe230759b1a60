"""Hidden checks of the grade cell ``gradients``: the loss and ``dW``, ``db`` of softmax
regression against the reference, PyTorch autograd and central differences of the reference
loss. ``softmax`` and ``cross_entropy`` are the reference's here (graded in their own cell)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from assignments.softmax_regression import reference as ref
from assignments.softmax_regression.graders.tolerances import (
    FINITE_DIFFERENCE_ATOL,
    FINITE_DIFFERENCE_RTOL,
    FINITE_DIFFERENCE_STEP,
    VALUE_ATOL,
    VALUE_RTOL,
)
from gradekit.core.compare import as_array, central_differences, check_close, check_true
from gradekit.sandbox.student import Student

pytestmark = pytest.mark.grade_cell("gradients")

#: (samples, features, classes) of the hidden problems.
PROBLEMS = {"one-sample": (1, 3, 2), "batch": (16, 4, 3), "many-classes": (10, 2, 6)}
PROBLEM_IDS = list(PROBLEMS)


def problem(rng: np.random.Generator, sizes: tuple[int, int, int]):
    m, n, k = sizes
    X = rng.normal(size=(m, n))
    y = rng.integers(0, k, size=m)
    return X, y, rng.normal(scale=0.5, size=(n, k)), rng.normal(scale=0.1, size=(1, k))


def answer(student: Student, X, y, W, b) -> tuple[float, np.ndarray, np.ndarray]:
    result = student.call("softmax_regression_gradients", X, y, W, b)
    check_true(
        isinstance(result, tuple | list) and len(result) == 3,
        "softmax_regression_gradients must return the tuple (loss, dW, db)",
    )
    return result


def on(sizes: tuple[int, int, int]) -> str:
    m, n, k = sizes
    return f"{m} samples, {n} features and {k} classes"


@pytest.mark.parametrize("sizes", PROBLEMS.values(), ids=[f"loss-{key}" for key in PROBLEM_IDS])
def test_loss_matches_the_reference(student: Student, rng: np.random.Generator, sizes) -> None:
    X, y, W, b = problem(rng, sizes)
    loss, _, _ = answer(student, X, y, W, b)
    check_close(
        loss,
        ref.softmax_regression_gradients(X, y, W, b)[0],
        what="the loss",
        oracle="the reference",
        on=on(sizes),
        rtol=VALUE_RTOL,
        atol=VALUE_ATOL,
    )


#: The gradients ``softmax_regression_gradients`` returns, by their place in ``(loss, dW, db)``.
GRADIENTS = {"dW": 1, "db": 2}
GRADIENT_CASES = [
    pytest.param(gradient, sizes, id=f"{gradient}-{key}")
    for gradient in GRADIENTS
    for key, sizes in PROBLEMS.items()
]


@pytest.mark.parametrize(("gradient", "sizes"), GRADIENT_CASES)
def test_gradient_matches_the_reference(
    student: Student, rng: np.random.Generator, gradient: str, sizes
) -> None:
    X, y, W, b = problem(rng, sizes)
    got = answer(student, X, y, W, b)[GRADIENTS[gradient]]
    expected = ref.softmax_regression_gradients(X, y, W, b)[GRADIENTS[gradient]]
    check_close(
        got,
        expected,
        what=gradient,
        oracle="the reference",
        on=on(sizes),
        rtol=VALUE_RTOL,
        atol=VALUE_ATOL,
        mistakes={"not divided by the number of samples m": expected * sizes[0]},
    )


@pytest.mark.parametrize(
    ("gradient", "sizes"),
    [
        pytest.param(gradient, sizes, id=f"autograd-{gradient}-{key}")
        for gradient in ("dW", "db")
        for key, sizes in PROBLEMS.items()
    ],
)
def test_gradient_matches_torch_autograd(
    student: Student, rng: np.random.Generator, gradient: str, sizes
) -> None:
    X, y, W, b = problem(rng, sizes)
    _, dW, db = answer(student, X, y, W, b)
    W_t = torch.tensor(W, requires_grad=True)
    b_t = torch.tensor(b, requires_grad=True)
    F.cross_entropy(torch.from_numpy(X) @ W_t + b_t, torch.from_numpy(y)).backward()
    got, tensor = (dW, W_t) if gradient == "dW" else (db, b_t)
    check_close(
        got,
        tensor.grad.numpy(),
        what=gradient,
        oracle="torch autograd (cross_entropy(...).backward())",
        on=on(sizes),
        rtol=VALUE_RTOL,
        atol=VALUE_ATOL,
    )


@pytest.mark.parametrize(
    "sizes", PROBLEMS.values(), ids=[f"finite-differences-{key}" for key in PROBLEM_IDS]
)
def test_weight_gradient_matches_central_differences(
    student: Student, rng: np.random.Generator, sizes
) -> None:
    X, y, W, b = problem(rng, sizes)
    _, dW, _ = answer(student, X, y, W, b)
    numeric = central_differences(
        lambda weights: ref.softmax_regression_gradients(X, y, weights, b)[0],
        W,
        step=FINITE_DIFFERENCE_STEP,
    )
    check_close(
        as_array(dW, what="dW"),
        numeric,
        what="dW",
        oracle="central differences of the reference loss",
        on=on(sizes),
        rtol=FINITE_DIFFERENCE_RTOL,
        atol=FINITE_DIFFERENCE_ATOL,
    )
