"""Central-difference gradient checking, to test hand-written backward passes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .activations import FloatArray


def numerical_gradient(
    f: Callable[[FloatArray], float], x: npt.ArrayLike, eps: float = 1e-6
) -> FloatArray:
    """Central-difference estimate of the gradient of a scalar function.

    ``grad[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry ``i``. The error is
    about ``eps**2 * |f'''|`` from truncation plus ``1e-16 * |f| / eps`` from rounding.

    Args:
        f: Maps an array shaped like ``x`` to a scalar. It is called on a private float64 copy of
            ``x`` that is perturbed one entry at a time.
        x: Point of evaluation, any shape; never modified.
        eps: Step size.

    Returns:
        Float64 array shaped like ``x``.
    """
    x_work = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x_work)
    for index in np.ndindex(x_work.shape):
        original = x_work[index]
        x_work[index] = original + eps
        f_plus = float(f(x_work))
        x_work[index] = original - eps
        f_minus = float(f(x_work))
        x_work[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Norm-wise relative difference ``||a - b|| / max(||a||, ||b||)`` (Frobenius norms).

    Scale-free and symmetric; 0.0 when both arrays are zero. Unlike an entry-wise ratio it is not
    inflated by entries that are tiny compared with the rest of the gradient.

    Args:
        a: Array of any shape.
        b: Array broadcastable against ``a`` (usually the same shape).

    Returns:
        The relative error, a non-negative float.
    """
    a_arr = np.asarray(a, dtype=np.float64)
    b_arr = np.asarray(b, dtype=np.float64)
    scale = max(float(np.linalg.norm(a_arr)), float(np.linalg.norm(b_arr)))
    if scale == 0.0:
        return 0.0
    return float(np.linalg.norm(a_arr - b_arr)) / scale
