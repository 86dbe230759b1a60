"""The multi-layer perceptrons of lecture 5 (steps 10 and 18): :class:`NeuralNetwork` and
:class:`MultiClassNeuralNetwork` wrap the functional core of :mod:`reference_impl.network_core`
with the lecture's API and keep their forward caches under the lecture's names ``activations``
and ``z_values``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .activations import FloatArray
from .losses import (
    binary_accuracy,
    binary_cross_entropy,
    categorical_accuracy,
    categorical_cross_entropy,
    softmax,
)
from .network_core import ForwardCache, OutputKind, backward, forward, init_parameters


class _MultiLayerPerceptron(ABC):
    """The part of the lecture's two network classes that does not depend on the output layer."""

    _output: OutputKind = "sigmoid"

    def __init__(
        self, layer_sizes: Sequence[int], activation: str = "relu", learning_rate: float = 0.01
    ) -> None:
        """Initialises the parameters with :func:`init_parameters`.

        Args:
            layer_sizes: ``[n_in, h1, ..., n_out]``.
            activation: Hidden activation, ``"relu"``, ``"tanh"`` or ``"sigmoid"``.
            learning_rate: Step size of :meth:`update_parameters`.
        """
        self.layer_sizes = list(layer_sizes)
        self.activation_name = activation
        self.lr = learning_rate
        self.losses: list[float] = []
        self.accuracies: list[float] = []
        self.weights, self.biases = init_parameters(self.layer_sizes, activation)
        # Forward caches under the lecture's names (student subclasses may read them).
        self.activations: list[FloatArray] = []
        self.z_values: list[FloatArray] = []

    def forward(self, X: npt.ArrayLike) -> FloatArray:
        """Forward propagation; caches ``activations`` and ``z_values`` for :meth:`backward`.

        Args:
            X: Inputs, shape ``(m, layer_sizes[0])``.

        Returns:
            Output probabilities, shape ``(m, layer_sizes[-1])``.
        """
        y_hat, cache = forward(self.weights, self.biases, X, self.activation_name, self._output)
        self.activations, self.z_values = cache.activations, cache.z_values
        return y_hat

    def backward(
        self, X: npt.ArrayLike, y_true: npt.ArrayLike
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        """Gradients of the mean loss, using the caches of the latest :meth:`forward` call.

        Args:
            X: The inputs of the latest forward pass, shape ``(m, layer_sizes[0])`` (unused,
                kept for the lecture's signature: the cache already holds them).
            y_true: Labels of the ``m`` samples.

        Returns:
            ``(dW, db)``: lists parallel to ``weights`` and ``biases``, with their shapes.
        """
        if not self.activations:
            raise RuntimeError("call forward(X) before backward(X, y_true)")
        cache = ForwardCache(self.activations, self.z_values)
        return backward(self.weights, cache, y_true, self.activation_name, self._output)

    def update_parameters(self, dW: Sequence[FloatArray], db: Sequence[FloatArray]) -> None:
        """Gradient-descent step in place: ``param -= lr * grad`` for every layer.

        Args:
            dW: Gradients parallel to ``weights``.
            db: Gradients parallel to ``biases``.
        """
        for i in range(len(self.weights)):
            self.weights[i] -= self.lr * dW[i]
            self.biases[i] -= self.lr * db[i]

    @abstractmethod
    def compute_loss(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
        """Mean loss of the predictions ``y_pred`` for the labels ``y_true``."""

    @abstractmethod
    def compute_accuracy(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
        """Accuracy in percent of the predictions ``y_pred`` for the labels ``y_true``."""

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, epochs: int = 1000, verbose: bool = True
    ) -> None:
        """Full-batch gradient descent.

        Each epoch records the loss and accuracy of the current parameters, then updates them.

        Args:
            X: Inputs, shape ``(m, layer_sizes[0])``.
            y: Labels of the ``m`` samples.
            epochs: Number of updates.
            verbose: Print progress every 100 epochs and at the last epoch.
        """
        for epoch in range(epochs):
            y_pred = self.forward(X)
            loss = self.compute_loss(y_pred, y)
            accuracy = self.compute_accuracy(y_pred, y)
            self.losses.append(loss)
            self.accuracies.append(accuracy)
            dW, db = self.backward(X, y)
            self.update_parameters(dW, db)
            if verbose and (epoch % 100 == 0 or epoch == epochs - 1):
                print(f"Epoch {epoch:4d} | Loss: {loss:.4f} | Accuracy: {accuracy:.2f}%")

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Output probabilities.

        Args:
            X: Inputs, shape ``(m, layer_sizes[0])``.

        Returns:
            Probabilities, shape ``(m, layer_sizes[-1])``.
        """
        return self.forward(X)


class NeuralNetwork(_MultiLayerPerceptron):
    """Binary MLP: hidden layers with one activation, a single sigmoid output unit, mean BCE.

    Attributes:
        layer_sizes: ``[n_in, h1, ..., 1]``.
        activation_name: ``"relu"``, ``"tanh"`` or ``"sigmoid"``.
        lr: Learning rate.
        weights: ``weights[i]`` of shape ``(layer_sizes[i], layer_sizes[i+1])``.
        biases: ``biases[i]`` of shape ``(1, layer_sizes[i+1])``.
        losses: Loss of every :meth:`fit` epoch, before that epoch's update.
        accuracies: Accuracy (percent) of every epoch, before that epoch's update.
        activations: Forward cache ``[X, a1, ..., y_hat]`` of the latest :meth:`forward`.
        z_values: Forward cache ``[z1, ..., zL]`` of the latest :meth:`forward`.
    """

    _output: OutputKind = "sigmoid"

    def compute_loss(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
        """Mean binary cross-entropy (predictions clipped to ``[1e-7, 1 - 1e-7]``).

        Args:
            y_pred: Probabilities, shape ``(m, 1)``.
            y_true: 0/1 labels, shape ``(m, 1)``.

        Returns:
            The loss.
        """
        return binary_cross_entropy(y_pred, y_true)

    def compute_accuracy(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
        """Accuracy in percent with threshold ``>= 0.5``.

        Args:
            y_pred: Probabilities, shape ``(m, 1)``.
            y_true: 0/1 labels, shape ``(m, 1)``.

        Returns:
            Accuracy in [0, 100].
        """
        return binary_accuracy(y_pred, y_true)

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int_]:
        """Class predictions with threshold ``>= 0.5``.

        Args:
            X: Inputs, shape ``(m, layer_sizes[0])``.

        Returns:
            Integer 0/1 array, shape ``(m, 1)``.
        """
        return (self.forward(X) >= 0.5).astype(int)


class MultiClassNeuralNetwork(_MultiLayerPerceptron):
    """Multi-class MLP: hidden layers with one activation, a softmax output over ``K`` classes.

    Same attributes as :class:`NeuralNetwork`, with ``layer_sizes[-1] == K``. Labels may be class
    ids ``(m,)`` or one-hot rows ``(m, K)`` everywhere.
    """

    _output: OutputKind = "softmax"

    def softmax(self, z: npt.ArrayLike) -> FloatArray:
        """Row-wise, numerically stable softmax.

        Args:
            z: Logits, shape ``(m, K)``.

        Returns:
            Probabilities, shape ``(m, K)``.
        """
        return softmax(z)

    def compute_loss(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
        """Mean categorical cross-entropy (predictions clipped to ``[1e-7, 1 - 1e-7]``).

        Args:
            y_pred: Probabilities, shape ``(m, K)``.
            y_true: Class ids ``(m,)`` or one-hot rows ``(m, K)``.

        Returns:
            The loss.
        """
        return categorical_cross_entropy(y_pred, y_true)

    def compute_accuracy(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
        """Accuracy in percent of the arg-max class.

        Args:
            y_pred: Probabilities, shape ``(m, K)``.
            y_true: Class ids ``(m,)`` or one-hot rows ``(m, K)``.

        Returns:
            Accuracy in [0, 100].
        """
        return categorical_accuracy(y_pred, y_true)

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Most probable class of every sample.

        Args:
            X: Inputs, shape ``(m, layer_sizes[0])``.

        Returns:
            Class ids, shape ``(m,)``.
        """
        return np.argmax(self.forward(X), axis=1)
