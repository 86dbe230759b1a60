"""Reference implementation of the softmax-regression assignment (NumPy only, pure functions)."""

from .gradients import softmax_regression_gradients
from .softmax import cross_entropy, softmax

__all__ = ["cross_entropy", "softmax", "softmax_regression_gradients"]
