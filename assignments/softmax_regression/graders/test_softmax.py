"""Hidden checks of the grade cell ``softmax``: ``softmax`` and ``cross_entropy`` against the
reference and against PyTorch, for several shapes, large logits and unchanged inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from assignments.softmax_regression import reference as ref
from assignments.softmax_regression.graders.tolerances import VALUE_ATOL, VALUE_RTOL
from gradekit.core.compare import check_close, check_true, shape_of
from gradekit.sandbox.student import Student

pytestmark = pytest.mark.grade_cell("softmax")

SHAPES = {"one-row": (1, 3), "batch": (8, 4), "two-classes": (5, 2), "many-classes": (3, 10)}
#: Logits this large overflow ``exp`` unless the row maximum is subtracted first.
LARGE_LOGIT = 1000.0


def logits(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.normal(scale=3.0, size=shape)


def softmax_mistakes(z: np.ndarray) -> dict[str, np.ndarray]:
    by_column = np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)
    return {
        "normalised over axis 0 (the samples) instead of axis 1 (the classes)": by_column,
        "returned exp(z) without dividing by the row sums": np.exp(
            z - z.max(axis=1, keepdims=True)
        ),
    }


@pytest.mark.parametrize("shape", SHAPES.values(), ids=[f"softmax-{key}" for key in SHAPES])
def test_softmax_matches_the_reference(student: Student, rng: np.random.Generator, shape) -> None:
    z = logits(rng, shape)
    check_close(
        student.call("softmax", z),
        ref.softmax(z),
        what="softmax(z)",
        oracle="the reference softmax",
        on=shape_of(z),
        rtol=VALUE_RTOL,
        atol=VALUE_ATOL,
        mistakes=softmax_mistakes(z),
    )


@pytest.mark.parametrize("shape", SHAPES.values(), ids=[f"softmax-torch-{key}" for key in SHAPES])
def test_softmax_matches_torch(student: Student, rng: np.random.Generator, shape) -> None:
    z = logits(rng, shape)
    check_close(
        student.call("softmax", z),
        torch.softmax(torch.from_numpy(z), dim=1).numpy(),
        what="softmax(z)",
        oracle="torch.softmax(z, dim=1)",
        on=shape_of(z),
        rtol=VALUE_RTOL,
        atol=VALUE_ATOL,
        mistakes=softmax_mistakes(z),
    )


def test_softmax_is_finite_for_large_logits(student: Student, rng: np.random.Generator) -> None:
    z = logits(rng, (4, 3)) + LARGE_LOGIT
    check_close(
        student.call("softmax", z),
        ref.softmax(z),
        what="softmax(z) for logits near 1000",
        oracle="the reference softmax",
        on=shape_of(z),
        rtol=VALUE_RTOL,
        atol=VALUE_ATOL,
    )


def test_softmax_leaves_its_input_unchanged(student: Student, rng: np.random.Generator) -> None:
    z = logits(rng, (4, 3))
    after = student.invoke("softmax", [z], return_args=True).args_after
    check_true(
        np.array_equal(after[0][0], z),
        "softmax changed its argument z in place: compute on a copy (z - max is a new array)",
    )


@pytest.mark.parametrize("shape", SHAPES.values(), ids=[f"cross-entropy-{key}" for key in SHAPES])
def test_cross_entropy_matches_torch(student: Student, rng: np.random.Generator, shape) -> None:
    z = logits(rng, shape)
    y = rng.integers(0, shape[1], size=shape[0])
    probs = ref.softmax(z)
    expected = F.cross_entropy(torch.from_numpy(z), torch.from_numpy(y)).item()
    check_close(
        student.call("cross_entropy", probs, y),
        expected,
        what="cross_entropy(probs, y)",
        oracle="torch.nn.functional.cross_entropy on the logits",
        on=f"probabilities of shape {shape} and {shape[0]} labels",
        rtol=VALUE_RTOL,
        atol=VALUE_ATOL,
        mistakes={
            "summed over the samples instead of taking the mean": expected * shape[0],
            "averaged over every entry of probs, not only the true classes' probabilities": float(
                -np.mean(np.log(probs))
            ),
        },
    )


def test_cross_entropy_is_finite_for_a_zero_probability(student: Student) -> None:
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([1, 0])
    got = student.call("cross_entropy", probs, y)
    check_true(
        bool(np.isfinite(np.asarray(got, dtype=float)).all()),
        "cross_entropy of a zero probability is not finite: clip the probabilities to "
        "[1e-12, 1] before the logarithm",
    )
