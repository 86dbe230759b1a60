"""Softmax over the classes of each row and the mean cross-entropy of integer labels."""

from __future__ import annotations

import numpy as np

#: Probabilities are clipped to this before the logarithm (the release asks the same).
PROBABILITY_FLOOR = 1e-12


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits.

    Args:
        z: Logits, shape (m, k).

    Returns:
        Probabilities, shape (m, k); each row sums to 1.
    """
    shifted = z - z.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=1, keepdims=True)


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-probability of the true classes.

    Args:
        probs: Probabilities, shape (m, k).
        y: Integer labels in ``range(k)``, shape (m,).

    Returns:
        The mean loss, a float.
    """
    picked = probs[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.clip(picked, PROBABILITY_FLOOR, 1.0))))
