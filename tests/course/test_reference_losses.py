"""reference_impl.losses against PyTorch (float64): softmax, cross-entropies, one-hot, accuracy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader_tests.oracles import t64
from grader_tests.tolerances import REFERENCE_ATOL, REFERENCE_RTOL
from reference_impl import losses as lf

# (m, K) shapes of logits / probabilities
MULTI_SHAPES = {"batch1": (1, 3), "two-classes": (6, 2), "single-class": (4, 1), "iris": (30, 3)}
CCE_SHAPES = {k: v for k, v in MULTI_SHAPES.items() if k != "single-class"}
BATCHES = {"batch1": 1, "batch7": 7, "batch64": 64}


def logits(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=3.0, size=shape)


def class_ids(m: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + 100).integers(0, k, size=m)


@pytest.mark.parametrize("shape", MULTI_SHAPES.values(), ids=MULTI_SHAPES.keys())
def test_softmax_matches_torch(shape: tuple[int, int]) -> None:
    z = logits(shape)
    expected = torch.softmax(t64(z), dim=1).numpy()
    np.testing.assert_allclose(lf.softmax(z), expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


def test_softmax_finite_and_warning_free_for_huge_logits() -> None:
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        p = lf.softmax(z)
    expected = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(p, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


def test_softmax_does_not_mutate_logits() -> None:
    z = logits((5, 4))
    before = z.copy()
    lf.softmax(z)
    np.testing.assert_array_equal(z, before)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    )
)
def test_softmax_rows_are_distributions_for_any_finite_logits(z: np.ndarray) -> None:
    p = lf.softmax(z)
    assert np.all(np.isfinite(p))
    assert np.all(p >= 0.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.floats(min_value=-50, max_value=50, allow_nan=False),
    ),
    st.floats(min_value=-100, max_value=100, allow_nan=False),
)
def test_softmax_is_invariant_to_adding_a_constant(z: np.ndarray, shift: float) -> None:
    np.testing.assert_allclose(
        lf.softmax(z + shift), lf.softmax(z), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )


@pytest.mark.parametrize("m", BATCHES.values(), ids=BATCHES.keys())
def test_binary_cross_entropy_matches_torch(m: int) -> None:
    rng = np.random.default_rng(m)
    p = rng.uniform(0.01, 0.99, size=(m, 1))
    y = rng.integers(0, 2, size=(m, 1)).astype(float)
    expected = torch.nn.functional.binary_cross_entropy(t64(p), t64(y)).item()
    result = lf.binary_cross_entropy(p, y)
    assert isinstance(result, float)
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@pytest.mark.parametrize(
    ("p", "y"),
    [(0.0, 1.0), (1.0, 0.0)],
    ids=["p0-label1", "p1-label0"],
)
def test_binary_cross_entropy_clips_certain_wrong_predictions(p: float, y: float) -> None:
    result = lf.binary_cross_entropy(np.array([[p]]), np.array([[y]]))
    np.testing.assert_allclose(result, -np.log(lf.EPS), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


def test_binary_cross_entropy_accepts_flat_labels() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.99, size=(9, 1))
    y = rng.integers(0, 2, size=(9, 1)).astype(float)
    assert lf.binary_cross_entropy(p, y.ravel()) == lf.binary_cross_entropy(p, y)


@pytest.mark.parametrize("label_format", ["ids", "one-hot"])
@pytest.mark.parametrize("shape", CCE_SHAPES.values(), ids=CCE_SHAPES.keys())
def test_categorical_cross_entropy_matches_torch(shape: tuple[int, int], label_format: str) -> None:
    m, k = shape
    z = logits(shape, seed=4)
    ids = class_ids(m, k)
    expected = torch.nn.functional.cross_entropy(t64(z), torch.tensor(ids)).item()
    labels = ids if label_format == "ids" else np.eye(k)[ids]
    result = lf.categorical_cross_entropy(lf.softmax(z), labels)
    assert isinstance(result, float)
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


def test_categorical_cross_entropy_clips_like_the_lecture() -> None:
    # A certain, correct prediction is clipped to 1 - EPS, so the loss is -log(1 - EPS), not 0.
    result = lf.categorical_cross_entropy(np.array([[1.0, 0.0]]), np.array([0]))
    np.testing.assert_allclose(
        result, -np.log(1 - lf.EPS), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )


def test_categorical_cross_entropy_does_not_mutate_arguments() -> None:
    p = lf.softmax(logits((6, 3)))
    ids = class_ids(6, 3)
    labels = np.eye(3)[ids]
    p_before, ids_before, labels_before = p.copy(), ids.copy(), labels.copy()
    lf.categorical_cross_entropy(p, ids)
    lf.categorical_cross_entropy(p, labels)
    np.testing.assert_array_equal(p, p_before)
    np.testing.assert_array_equal(ids, ids_before)
    np.testing.assert_array_equal(labels, labels_before)


@pytest.mark.parametrize("shape", MULTI_SHAPES.values(), ids=MULTI_SHAPES.keys())
def test_one_hot_matches_torch(shape: tuple[int, int]) -> None:
    m, k = shape
    ids = class_ids(m, k)
    expected = torch.nn.functional.one_hot(torch.tensor(ids), num_classes=k).numpy()
    result = lf.one_hot(ids, k)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, expected)


def test_one_hot_rejects_out_of_range_ids() -> None:
    with pytest.raises(ValueError, match="class ids"):
        lf.one_hot(np.array([0, 3]), 3)


def test_as_one_hot_rejects_wrong_width() -> None:
    with pytest.raises(ValueError, match="one-hot"):
        lf.as_one_hot(np.eye(4), 3)


@pytest.mark.parametrize(
    ("p", "y", "expected"),
    [
        ([[0.5], [0.49], [0.9], [0.1]], [[1], [0], [1], [0]], 100.0),
        ([[0.5], [0.49], [0.9], [0.1]], [[0], [1], [0], [1]], 0.0),
        ([[0.5], [0.49], [0.9], [0.1]], [[1], [1], [1], [1]], 50.0),
        ([[0.7]], [[1]], 100.0),
    ],
    ids=["all-right-threshold-inclusive", "all-wrong", "half", "batch1"],
)
def test_binary_accuracy_is_percent_with_threshold_half(
    p: list[list[float]], y: list[list[int]], expected: float
) -> None:
    assert lf.binary_accuracy(np.array(p), np.array(y)) == expected


def test_binary_accuracy_matches_torch() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(size=(50, 1))
    y = rng.integers(0, 2, size=(50, 1)).astype(float)
    expected = ((t64(p) >= 0.5).double() == t64(y)).double().mean().item() * 100
    np.testing.assert_allclose(
        lf.binary_accuracy(p, y), expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )


@pytest.mark.parametrize("label_format", ["ids", "one-hot"])
def test_categorical_accuracy_matches_torch(label_format: str) -> None:
    z = logits((40, 3), seed=6)
    ids = class_ids(40, 3, seed=6)
    expected = (torch.argmax(t64(z), dim=1) == torch.tensor(ids)).double().mean().item() * 100
    labels = ids if label_format == "ids" else np.eye(3)[ids]
    result = lf.categorical_accuracy(lf.softmax(z), labels)
    assert 0.0 <= result <= 100.0
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
