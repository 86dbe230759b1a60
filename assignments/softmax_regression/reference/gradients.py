"""Loss and gradients of softmax regression, ``softmax(X @ W + b)`` with the cross-entropy."""

from __future__ import annotations

import numpy as np

from .softmax import cross_entropy, softmax


def softmax_regression_gradients(
    X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """The mean cross-entropy and its gradients with respect to ``W`` and ``b``.

    Args:
        X: Inputs, shape (m, n).
        y: Integer labels, shape (m,).
        W: Weights, shape (n, k).
        b: Biases, shape (1, k).

    Returns:
        ``(loss, dW, db)``: a float, shape (n, k), shape (1, k).
    """
    probs = softmax(X @ W + b)
    delta = probs.copy()
    delta[np.arange(len(y)), y] -= 1.0
    delta /= len(y)
    return cross_entropy(probs, y), X.T @ delta, delta.sum(axis=0, keepdims=True)
