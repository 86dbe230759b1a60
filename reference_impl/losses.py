"""Output-layer softmax, cross-entropy losses and accuracies (lecture 5, steps 2, 10 and 18).

Losses are means over the ``m`` samples and are returned as Python floats; accuracies are
percentages in [0, 100]. Binary labels have shape ``(m, 1)`` (``(m,)`` is accepted and reshaped);
multi-class labels are integer class ids ``(m,)`` or one-hot rows ``(m, K)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .activations import FloatArray, as_float_array

#: Predictions are clipped to [EPS, 1 - EPS] before the logarithm, as in the lecture.
EPS = 1e-7


def softmax(z: npt.ArrayLike) -> FloatArray:
    """Row-wise softmax.

    Args:
        z: Logits of shape ``(m, K)``.

    Returns:
        Probabilities of shape ``(m, K)``; every row sums to 1.
    """
    z = as_float_array(z)
    # softmax(z) == softmax(z - c) for any per-row constant c. With c = the row max every exponent
    # is <= 0, so exp never overflows (exp(1000) would be inf and inf/inf is nan), and the largest
    # term is exactly exp(0) = 1, so the denominator is >= 1 and never underflows to 0.
    z_stable = z - np.max(z, axis=1, keepdims=True)
    with np.errstate(under="ignore"):  # very negative shifted logits correctly give 0
        exp_z = np.exp(z_stable)
    return exp_z / np.sum(exp_z, axis=1, keepdims=True)


def one_hot(class_ids: npt.ArrayLike, num_classes: int) -> FloatArray:
    """One-hot encoding of integer class ids.

    Args:
        class_ids: Integer class ids in ``[0, num_classes)``, shape ``(m,)``.
        num_classes: Number of classes ``K``.

    Returns:
        Float array of shape ``(m, K)`` with a single 1.0 per row.
    """
    ids = np.asarray(class_ids).astype(np.int64).reshape(-1)
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"class ids must lie in [0, {num_classes}), got {ids.min()}..{ids.max()}")
    return np.eye(num_classes, dtype=np.float64)[ids]


def as_one_hot(y_true: npt.ArrayLike, num_classes: int) -> FloatArray:
    """Multi-class labels as one-hot rows, whether given as ids or already one-hot.

    Args:
        y_true: Class ids of shape ``(m,)`` or one-hot rows of shape ``(m, K)``.
        num_classes: Number of classes ``K``.

    Returns:
        Float array of shape ``(m, K)`` (a new array; ``y_true`` is never modified).
    """
    y = np.asarray(y_true)
    if y.ndim == 1:
        return one_hot(y, num_classes)
    if y.ndim != 2 or y.shape[1] != num_classes:
        raise ValueError(f"expected class ids (m,) or one-hot (m, {num_classes}), got {y.shape}")
    return y.astype(np.float64)  # astype copies


def as_class_ids(y_true: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Multi-class labels as integer class ids, whether given as ids or one-hot.

    Args:
        y_true: Class ids of shape ``(m,)`` or one-hot rows of shape ``(m, K)``.

    Returns:
        Integer array of shape ``(m,)``.
    """
    y = np.asarray(y_true)
    if y.ndim == 2:
        return np.argmax(y, axis=1).astype(np.int64)
    return y.astype(np.int64).reshape(-1)


def as_binary_labels(y_true: npt.ArrayLike) -> FloatArray:
    """Binary 0/1 labels as a float column.

    Args:
        y_true: Labels of shape ``(m, 1)`` or ``(m,)``.

    Returns:
        Float array of shape ``(m, 1)``. Reshaping ``(m,)`` avoids a silent ``(m, m)`` broadcast
        against the ``(m, 1)`` predictions.
    """
    return as_float_array(y_true).reshape(-1, 1)


def binary_cross_entropy(y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
    """Mean binary cross-entropy with predictions clipped to ``[EPS, 1 - EPS]``.

    Args:
        y_pred: Predicted probabilities of class 1, shape ``(m, 1)``.
        y_true: 0/1 labels, shape ``(m, 1)`` or ``(m,)``.

    Returns:
        ``-mean(y log p + (1 - y) log(1 - p))``.
    """
    p = np.clip(as_float_array(y_pred).reshape(-1, 1), EPS, 1 - EPS)
    y = as_binary_labels(y_true)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def categorical_cross_entropy(y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
    """Mean categorical cross-entropy with predictions clipped to ``[EPS, 1 - EPS]``.

    Args:
        y_pred: Predicted class probabilities, shape ``(m, K)``.
        y_true: Class ids ``(m,)`` or one-hot rows ``(m, K)``.

    Returns:
        ``-mean_i sum_k y_ik log p_ik``.
    """
    p = as_float_array(y_pred)
    y = as_one_hot(y_true, p.shape[1])
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(np.sum(y * np.log(p), axis=1)))


def binary_accuracy(y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
    """Percentage of samples whose thresholded prediction (``p >= 0.5``) equals the label.

    Args:
        y_pred: Predicted probabilities of class 1, shape ``(m, 1)``.
        y_true: 0/1 labels, shape ``(m, 1)`` or ``(m,)``.

    Returns:
        Accuracy in percent, in [0, 100].
    """
    predictions = (as_float_array(y_pred).reshape(-1, 1) >= 0.5).astype(np.float64)
    return float(np.mean(predictions == as_binary_labels(y_true)) * 100)


def categorical_accuracy(y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
    """Percentage of samples whose arg-max class equals the label.

    Args:
        y_pred: Predicted class probabilities (or logits), shape ``(m, K)``.
        y_true: Class ids ``(m,)`` or one-hot rows ``(m, K)``.

    Returns:
        Accuracy in percent, in [0, 100].
    """
    pred_classes = np.argmax(as_float_array(y_pred), axis=1)
    return float(np.mean(pred_classes == as_class_ids(y_true)) * 100)
