"""Element-wise activation functions (lecture 5, step 4); their derivatives are in
:mod:`reference_impl.derivatives`.

Every function accepts an array of any shape (or a scalar), returns a new float64 array of the
same shape and never modifies its argument.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def as_float_array(x: npt.ArrayLike) -> FloatArray:
    """Views ``x`` as a float64 array without copying when it already is one.

    Args:
        x: A scalar or an array of any shape.

    Returns:
        A float64 array with the shape of ``x``; callers must not write into it.
    """
    return np.asarray(x, dtype=np.float64)


def relu(x: npt.ArrayLike) -> FloatArray:
    """ReLU, ``max(0, x)``.

    Args:
        x: Pre-activations, any shape.

    Returns:
        Array with the shape of ``x``.
    """
    return np.maximum(as_float_array(x), 0.0)


def tanh(x: npt.ArrayLike) -> FloatArray:
    """Hyperbolic tangent.

    Args:
        x: Pre-activations, any shape.

    Returns:
        Array in [-1, 1] with the shape of ``x``.
    """
    return np.tanh(as_float_array(x))


def sigmoid(x: npt.ArrayLike) -> FloatArray:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, finite and warning-free for any finite input.

    ``exp`` is only ever taken of ``-|x|`` (at most 1), so nothing overflows; each branch then
    uses the algebraically equal form that stays accurate in its tail:
    ``1 / (1 + e^-x)`` for ``x >= 0`` and ``e^x / (1 + e^x)`` for ``x < 0``.

    Args:
        x: Pre-activations, any shape.

    Returns:
        Array in [0, 1] with the shape of ``x``.
    """
    x = as_float_array(x)
    # exp(-|x|) underflows to 0 for |x| > ~745; 0 is the correctly rounded result there, so the
    # underflow flag is silenced even when the caller runs under np.errstate(all="raise").
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def leaky_relu(x: npt.ArrayLike, alpha: float = 0.01) -> FloatArray:
    """Leaky ReLU: ``x`` where ``x > 0``, else ``alpha * x``.

    Args:
        x: Pre-activations, any shape.
        alpha: Slope for non-positive inputs.

    Returns:
        Array with the shape of ``x``.
    """
    x = as_float_array(x)
    return np.where(x > 0, x, alpha * x)
