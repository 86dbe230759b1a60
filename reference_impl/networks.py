"""Multi-layer perceptrons of lecture 5 (steps 10 and 18): a functional core and two classes.

Conventions: ``X`` has shape ``(m, n_in)``; ``weights[i]`` has shape
``(layer_sizes[i], layer_sizes[i+1])`` and ``biases[i]`` shape ``(1, layer_sizes[i+1])``, so a layer
computes ``z = a_prev @ W + b``. Hidden layers use one activation (``relu``, ``tanh`` or
``sigmoid``); the output layer is a sigmoid (binary, trained with BCE) or a softmax (multi-class,
trained with categorical cross-entropy). Gradients are those of the mean loss over the batch.

The functional core (:func:`init_parameters`, :func:`forward`, :func:`backward`) is pure; the
classes :class:`NeuralNetwork` and :class:`MultiClassNeuralNetwork` wrap it with the lecture's
API and keep their forward caches under the lecture's names ``activations`` and ``z_values``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from .activations import (
    FloatArray,
    as_float_array,
    relu,
    relu_derivative,
    sigmoid,
    sigmoid_derivative,
    tanh,
    tanh_derivative,
)
from .losses import (
    as_binary_labels,
    as_one_hot,
    binary_accuracy,
    binary_cross_entropy,
    categorical_accuracy,
    categorical_cross_entropy,
    softmax,
)

OutputKind = Literal["sigmoid", "softmax"]

#: Hidden activations: name -> (function, derivative at the pre-activation).
HIDDEN_ACTIVATIONS: dict[str, tuple[Callable[[npt.ArrayLike], FloatArray], ...]] = {
    "relu": (relu, relu_derivative),
    "tanh": (tanh, tanh_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
}


class ForwardCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`.

    Attributes:
        activations: ``[X, a1, ..., a_{L-1}, output]`` (``L + 1`` arrays for ``L`` layers).
        z_values: Pre-activations ``[z1, ..., zL]``; ``z_values[i]`` has shape ``(m, n_{i+1})``.
    """

    activations: list[FloatArray]
    z_values: list[FloatArray]


def _check_activation(activation: str) -> None:
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(HIDDEN_ACTIVATIONS)}, got {activation!r}"
        )


def init_parameters(
    layer_sizes: Sequence[int], activation: str = "relu"
) -> tuple[list[FloatArray], list[FloatArray]]:
    """Random weights and zero biases, drawn like the lecture.

    ``W_i = np.random.randn(n_i, n_{i+1}) * scale`` with ``scale = sqrt(2 / n_i)`` for ReLU (He)
    and ``sqrt(1 / n_i)`` otherwise, layer by layer from the global NumPy random state, so that
    ``np.random.seed(s)`` reproduces the lecture's networks exactly.

    Args:
        layer_sizes: ``[n_in, h1, ..., n_out]``, at least two entries.
        activation: Hidden activation name; selects the scale.

    Returns:
        ``(weights, biases)`` with ``weights[i]`` of shape ``(layer_sizes[i], layer_sizes[i+1])``
        and ``biases[i]`` zeros of shape ``(1, layer_sizes[i+1])``.
    """
    _check_activation(activation)
    if len(layer_sizes) < 2:
        raise ValueError(f"layer_sizes needs an input and an output size, got {layer_sizes!r}")
    gain = 2.0 if activation == "relu" else 1.0
    weights: list[FloatArray] = []
    biases: list[FloatArray] = []
    for fan_in, fan_out in pairwise(layer_sizes):
        weights.append(np.random.randn(fan_in, fan_out) * np.sqrt(gain / fan_in))
        biases.append(np.zeros((1, fan_out)))
    return weights, biases


def forward(
    weights: Sequence[FloatArray],
    biases: Sequence[FloatArray],
    X: npt.ArrayLike,
    activation: str = "relu",
    output: OutputKind = "sigmoid",
) -> tuple[FloatArray, ForwardCache]:
    """Forward propagation through every layer.

    Args:
        weights: ``L`` weight matrices, ``weights[i]`` of shape ``(n_i, n_{i+1})``.
        biases: ``L`` bias rows, ``biases[i]`` of shape ``(1, n_{i+1})``.
        X: Inputs, shape ``(m, n_0)``.
        activation: Hidden activation name.
        output: ``"sigmoid"`` (binary) or ``"softmax"`` (multi-class) output layer.

    Returns:
        ``(y_hat, cache)``: the output probabilities of shape ``(m, n_L)`` and the cache for
        :func:`backward` (``cache.activations[-1] is y_hat``).
    """
    _check_activation(activation)
    act = HIDDEN_ACTIVATIONS[activation][0]
    activations: list[FloatArray] = [as_float_array(X)]
    z_values: list[FloatArray] = []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = activations[-1] @ W + b
        z_values.append(z)
        if i < len(weights) - 1:
            activations.append(act(z))
        elif output == "sigmoid":
            activations.append(sigmoid(z))
        elif output == "softmax":
            activations.append(softmax(z))
        else:
            raise ValueError(f"output must be 'sigmoid' or 'softmax', got {output!r}")
    return activations[-1], ForwardCache(activations, z_values)


def backward(
    weights: Sequence[FloatArray],
    cache: ForwardCache,
    y_true: npt.ArrayLike,
    activation: str = "relu",
    output: OutputKind = "sigmoid",
) -> tuple[list[FloatArray], list[FloatArray]]:
    """Back-propagation: gradients of the mean loss with respect to every weight and bias.

    The loss is BCE for a sigmoid output and categorical cross-entropy for a softmax output. For
    both pairs the gradient with respect to the output pre-activation is ``(y_hat - y) / m``
    (the gradient of the unclipped loss; the loss's clipping to ``[1e-7, 1 - 1e-7]`` is ignored,
    as in the lecture). Then, for layers ``l = L-1, ..., 0``::

        dW[l] = a[l].T @ dZ / m        db[l] = sum(dZ, axis=0) / m
        dZ    = (dZ @ W[l].T) * act'(z[l-1])

    Args:
        weights: The weights used by the forward pass that produced ``cache``.
        cache: The cache returned by :func:`forward`.
        y_true: Binary labels ``(m, 1)`` for a sigmoid output; class ids ``(m,)`` or one-hot
            ``(m, K)`` for a softmax output.
        activation: Hidden activation name (as in the forward pass).
        output: ``"sigmoid"`` or ``"softmax"`` (as in the forward pass).

    Returns:
        ``(dW, db)``: lists parallel to ``weights`` and the biases, with their shapes.
    """
    _check_activation(activation)
    act_derivative = HIDDEN_ACTIVATIONS[activation][1]
    y_hat = cache.activations[-1]
    if output == "sigmoid":
        y = as_binary_labels(y_true)
    elif output == "softmax":
        y = as_one_hot(y_true, y_hat.shape[1])
    else:
        raise ValueError(f"output must be 'sigmoid' or 'softmax', got {output!r}")
    m = len(y)
    n_layers = len(weights)
    dW: list[FloatArray] = [np.empty(0)] * n_layers
    db: list[FloatArray] = [np.empty(0)] * n_layers
    dZ = y_hat - y  # m times d(mean loss)/d(z_output)
    for layer in range(n_layers - 1, -1, -1):
        dW[layer] = (1 / m) * (cache.activations[layer].T @ dZ)
        db[layer] = (1 / m) * np.sum(dZ, axis=0, keepdims=True)
        if layer > 0:
            dZ = (dZ @ weights[layer].T) * act_derivative(cache.z_values[layer - 1])
    return dW, db


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
