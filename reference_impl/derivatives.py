"""Derivatives of the activation functions (lecture 5, step 5).

Every function accepts an array of any shape (or a scalar), returns a new float64 array of the
same shape and never modifies its argument. Derivatives are evaluated at the pre-activation ``x``
(the ``z`` of a layer), not at the activation's output. Conventions at the kink:
``relu_derivative(0) == 0`` and ``leaky_relu_derivative(0, alpha) == alpha``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .activations import FloatArray, as_float_array, sigmoid


def relu_derivative(x: npt.ArrayLike) -> FloatArray:
    """Derivative of ReLU at ``x``: 1 where ``x > 0``, else 0 (so 0 at exactly 0).

    Args:
        x: Pre-activations, any shape.

    Returns:
        Array of 0.0/1.0 with the shape of ``x``.
    """
    return (as_float_array(x) > 0).astype(np.float64)


def tanh_derivative(x: npt.ArrayLike) -> FloatArray:
    """Derivative of tanh at ``x``: ``1 - tanh(x)**2``.

    Args:
        x: Pre-activations, any shape.

    Returns:
        Array in [0, 1] with the shape of ``x``.
    """
    t = np.tanh(as_float_array(x))
    return 1.0 - t * t


def sigmoid_derivative(x: npt.ArrayLike) -> FloatArray:
    """Derivative of the sigmoid at ``x``: ``sigmoid(x) * (1 - sigmoid(x))``.

    Args:
        x: Pre-activations, any shape.

    Returns:
        Array in [0, 0.25] with the shape of ``x``.
    """
    s = sigmoid(x)
    with np.errstate(under="ignore"):
        return s * (1.0 - s)


def leaky_relu_derivative(x: npt.ArrayLike, alpha: float = 0.01) -> FloatArray:
    """Derivative of leaky ReLU at ``x``: 1 where ``x > 0``, else ``alpha`` (so ``alpha`` at 0).

    Args:
        x: Pre-activations, any shape.
        alpha: Slope for non-positive inputs.

    Returns:
        Array of 1.0/``alpha`` with the shape of ``x``.
    """
    x = as_float_array(x)
    return np.where(x > 0, 1.0, float(alpha))
