"""The softmax-regression reference against PyTorch (float64): the oracle of the second
assignment's checks is itself checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from assignments.softmax_regression import reference as ref

REFERENCE_RTOL = 1e-10
REFERENCE_ATOL = 1e-12
SIZES = {"one-sample": (1, 3, 2), "batch": (16, 4, 3), "many-classes": (10, 2, 6)}


def problem(seed: int, sizes: tuple[int, int, int]):
    rng = np.random.default_rng(seed)
    m, n, k = sizes
    return (
        rng.normal(size=(m, n)),
        rng.integers(0, k, size=m),
        rng.normal(size=(n, k)),
        rng.normal(size=(1, k)),
    )


@pytest.mark.parametrize("sizes", SIZES.values(), ids=list(SIZES))
def test_softmax_equals_torch(sizes) -> None:
    z = np.random.default_rng(1).normal(scale=5.0, size=sizes[::2])
    expected = torch.softmax(torch.from_numpy(z), dim=1).numpy()
    np.testing.assert_allclose(ref.softmax(z), expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


def test_softmax_is_finite_for_large_logits() -> None:
    probs = ref.softmax(np.array([[1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(probs, [[1.0, 0.0, 0.0]], atol=REFERENCE_ATOL)


@pytest.mark.parametrize("sizes", SIZES.values(), ids=list(SIZES))
def test_loss_and_gradients_equal_torch_autograd(sizes) -> None:
    X, y, W, b = problem(2, sizes)
    W_t, b_t = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    loss = F.cross_entropy(torch.from_numpy(X) @ W_t + b_t, torch.from_numpy(y))
    loss.backward()
    got_loss, dW, db = ref.softmax_regression_gradients(X, y, W, b)
    assert got_loss == pytest.approx(loss.item(), rel=REFERENCE_RTOL)
    np.testing.assert_allclose(dW, W_t.grad.numpy(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    np.testing.assert_allclose(db, b_t.grad.numpy(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
