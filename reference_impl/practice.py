"""The kit's graded additions: the hand-worked example and the practice exercises of lecture 5.

See ``docs/assignment_api.md``: :func:`two_layer_forward` (notebook 1), :func:`run_experiment`,
:class:`NeuralNetworkL2` and :func:`snapshot_weights` (notebook 3); the by-hand answers are in
:mod:`reference_impl.by_hand`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypedDict

import numpy as np
import numpy.typing as npt

from .activations import FloatArray, as_float_array, relu, sigmoid
from .losses import as_binary_labels
from .networks import NeuralNetwork


def two_layer_forward(
    X: npt.ArrayLike,
    W1: npt.ArrayLike,
    b1: npt.ArrayLike,
    W2: npt.ArrayLike,
    b2: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The hand-worked forward pass of lecture step 8: a ReLU hidden layer, a sigmoid output.

    Args:
        X: Inputs, shape ``(m, n)``.
        W1: Hidden weights, shape ``(n, h)``.
        b1: Hidden bias, shape ``(1, h)``.
        W2: Output weights, shape ``(h, 1)``.
        b2: Output bias, shape ``(1, 1)``.

    Returns:
        ``(z1, a1, z2, y_hat)`` with ``z1 = X @ W1 + b1`` and ``a1 = relu(z1)`` of shape
        ``(m, h)``, ``z2 = a1 @ W2 + b2`` and ``y_hat = sigmoid(z2)`` of shape ``(m, 1)``.
    """
    z1 = as_float_array(X) @ as_float_array(W1) + as_float_array(b1)
    a1 = relu(z1)
    z2 = a1 @ as_float_array(W2) + as_float_array(b2)
    y_hat = sigmoid(z2)
    return z1, a1, z2, y_hat


class ExperimentResult(TypedDict):
    """What :func:`run_experiment` returns."""

    final_loss: float
    final_accuracy: float
    losses: list[float]


def run_experiment(
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    layer_sizes: Sequence[int],
    activation: str = "relu",
    learning_rate: float = 0.1,
    epochs: int = 500,
    seed: int = 0,
) -> ExperimentResult:
    """One training run of the practice exercises (architectures, activations, learning rates).

    Seeds the global NumPy random state with ``seed``, builds a :class:`NeuralNetwork` and fits it
    silently, so two calls with the same arguments give the same result.

    Args:
        X: Inputs, shape ``(m, layer_sizes[0])``.
        y: 0/1 labels, shape ``(m, 1)``.
        layer_sizes: ``[n_in, h1, ..., 1]``.
        activation: Hidden activation name.
        learning_rate: Gradient-descent step size.
        epochs: Number of full-batch updates (at least 1).
        seed: Seed passed to ``np.random.seed`` before the network is built.

    Returns:
        ``{"final_loss", "final_accuracy", "losses"}``: the last recorded loss and accuracy
        (percent) and the list of the ``epochs`` recorded losses.
    """
    np.random.seed(seed)
    network = NeuralNetwork(layer_sizes, activation, learning_rate)
    network.fit(X, y, epochs=epochs, verbose=False)
    return {
        "final_loss": float(network.losses[-1]),
        "final_accuracy": float(network.accuracies[-1]),
        "losses": [float(loss) for loss in network.losses],
    }


class NeuralNetworkL2(NeuralNetwork):
    """:class:`NeuralNetwork` with L2 regularisation of the weights (never the biases).

    The loss is ``BCE + l2_lambda / (2 m) * sum_i ||W_i||_F^2``; its gradient adds
    ``l2_lambda / m * W_i`` to each ``dW[i]``. One update therefore equals SGD with weight decay
    ``l2_lambda / m`` on the weights and none on the biases.

    Attributes:
        l2_lambda: Regularisation strength (``0`` gives back :class:`NeuralNetwork`).
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        learning_rate: float = 0.01,
        l2_lambda: float = 0.0,
    ) -> None:
        """Initialises the network exactly like :class:`NeuralNetwork`.

        Args:
            layer_sizes: ``[n_in, h1, ..., 1]``.
            activation: Hidden activation name.
            learning_rate: Gradient-descent step size.
            l2_lambda: Regularisation strength.
        """
        super().__init__(layer_sizes, activation, learning_rate)
        self.l2_lambda = l2_lambda

    def compute_loss(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
        """Mean BCE plus ``l2_lambda / (2 m) * sum_i ||W_i||^2`` with ``m = len(y_true)``.

        Args:
            y_pred: Probabilities, shape ``(m, 1)``.
            y_true: 0/1 labels, shape ``(m, 1)``.

        Returns:
            The regularised loss.
        """
        m = len(as_binary_labels(y_true))
        penalty = sum(float(np.sum(W * W)) for W in self.weights)
        return super().compute_loss(y_pred, y_true) + self.l2_lambda / (2 * m) * penalty

    def backward(
        self, X: npt.ArrayLike, y_true: npt.ArrayLike
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        """Gradients of the regularised loss, using the caches of the latest forward pass.

        Args:
            X: The inputs of the latest forward pass, shape ``(m, layer_sizes[0])``.
            y_true: 0/1 labels, shape ``(m, 1)``.

        Returns:
            ``(dW, db)``: the :class:`NeuralNetwork` gradients with ``l2_lambda / m * W_i`` added
            to ``dW[i]``; ``db`` unchanged.
        """
        dW, db = super().backward(X, y_true)
        m = len(as_binary_labels(y_true))
        dW = [g + (self.l2_lambda / m) * W for g, W in zip(dW, self.weights, strict=True)]
        return dW, db


class _HasWeights(Protocol):
    weights: list[FloatArray]


def snapshot_weights(network: _HasWeights) -> list[FloatArray]:
    """Independent copies of ``network.weights``.

    Args:
        network: Any network with a ``weights`` list (binary, multi-class or L2).

    Returns:
        A new list of copies; training the network afterwards leaves them unchanged.
    """
    return [np.array(W, dtype=np.float64, copy=True) for W in network.weights]
