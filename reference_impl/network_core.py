"""The functional core of the multi-layer perceptrons of lecture 5 (steps 10 and 18).

Conventions: ``X`` has shape ``(m, n_in)``; ``weights[i]`` has shape
``(layer_sizes[i], layer_sizes[i+1])`` and ``biases[i]`` shape ``(1, layer_sizes[i+1])``, so a layer
computes ``z = a_prev @ W + b``. Hidden layers use one activation (``relu``, ``tanh`` or
``sigmoid``); the output layer is a sigmoid (binary, trained with BCE) or a softmax (multi-class,
trained with categorical cross-entropy). Gradients are those of the mean loss over the batch.
:func:`init_parameters`, :func:`forward` and :func:`backward` are pure; the classes of
:mod:`reference_impl.networks` wrap them with the lecture's API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from .activations import FloatArray, as_float_array, relu, sigmoid, tanh
from .derivatives import relu_derivative, sigmoid_derivative, tanh_derivative
from .losses import as_binary_labels, as_one_hot, softmax

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
