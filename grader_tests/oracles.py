"""The PyTorch and finite-difference oracles, computed in the trusted process (float64).

The reference NumPy oracle is :mod:`reference_impl` itself. Here: identical ``torch.nn`` models
built from given weights (note ``nn.Linear.weight`` is ``W.T``), their outputs, the gradients of
the mean loss from ``loss.backward()``, SGD steps with ``torch.optim.SGD``, and central
differences of the reference loss.

Every student of a class gets the same hidden inputs (drawn from the check's id and the grader
seed), so each oracle is computed once per grading process for given inputs and handed out as a
fresh copy after that (:func:`memoized`).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

import reference_impl as ref
from grader_tests.tolerances import FINITE_DIFFERENCE_STEP

TORCH_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

Arrays = Sequence[np.ndarray]
#: Distinct inputs an oracle remembers (a whole suite needs a few hundred).
MEMO_SIZE = 2048

Oracle = TypeVar("Oracle", bound=Callable[..., Any])


def _key(value: Any) -> Hashable:
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, list | tuple):
        return (type(value).__name__, *map(_key, value))
    if dataclasses.is_dataclass(value):
        fields = dataclasses.fields(value)
        return (type(value).__name__, *(_key(getattr(value, field.name)) for field in fields))
    return value


def memoized(oracle: Oracle) -> Oracle:
    """``oracle`` computed once per distinct input (arrays compared by value), copies handed out
    (a check may change what it gets)."""
    cache: dict[Hashable, Any] = {}

    @functools.wraps(oracle)
    def remembered(*args: Any, **kwargs: Any) -> Any:
        key = (_key(args), _key(sorted(kwargs.items())))
        if key not in cache:
            if len(cache) >= MEMO_SIZE:
                cache.pop(next(iter(cache)))
            cache[key] = oracle(*args, **kwargs)
        return copy.deepcopy(cache[key])

    return remembered  # type: ignore[return-value]


def t64(array: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(array), dtype=torch.float64)


def torch_network(weights: Arrays, biases: Arrays, activation: str) -> nn.Sequential:
    """``nn.Linear`` layers holding these parameters, the hidden activation between them; the
    model returns the output layer's pre-activation (logits)."""
    layers: list[nn.Module] = []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(t64(W.T))
            linear.bias.copy_(t64(np.ravel(b)))
        layers.append(linear)
        if i < len(weights) - 1:
            layers.append(TORCH_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def linears(model: nn.Sequential) -> list[nn.Linear]:
    """The model's ``nn.Linear`` layers, in order."""
    return [layer for layer in model if isinstance(layer, nn.Linear)]


def parameters_of(model: nn.Sequential) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights ``(n_in, n_out)`` and biases ``(1, n_out)`` back from a model."""
    weights = [layer.weight.detach().numpy().T.copy() for layer in linears(model)]
    biases = [layer.bias.detach().numpy().reshape(1, -1).copy() for layer in linears(model)]
    return weights, biases


def gradients_of(model: nn.Sequential) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``dW`` ``(n_in, n_out)`` and ``db`` ``(1, n_out)`` from the model's ``.grad``."""
    layers = linears(model)
    dW = [layer.weight.grad.numpy().T.copy() for layer in layers]  # type: ignore[union-attr]
    db = [layer.bias.grad.numpy().reshape(1, -1).copy() for layer in layers]  # type: ignore[union-attr]
    return dW, db


def mean_loss(model: nn.Module, X: np.ndarray, y: np.ndarray, output: str) -> torch.Tensor:
    """BCE of the sigmoid output, or cross-entropy of the softmax output (labels as class ids)."""
    logits = model(t64(X))
    if output == "sigmoid":
        return nn.BCELoss()(torch.sigmoid(logits), t64(np.reshape(y, (-1, 1))))
    return nn.CrossEntropyLoss()(logits, torch.tensor(ref.as_class_ids(y)))


@memoized
def torch_forward(
    weights: Arrays, biases: Arrays, X: np.ndarray, activation: str, output: str
) -> np.ndarray:
    """The network's output probabilities according to torch."""
    with torch.no_grad():
        logits = torch_network(weights, biases, activation)(t64(X))
        probabilities = (
            torch.sigmoid(logits) if output == "sigmoid" else torch.softmax(logits, dim=1)
        )
    return probabilities.numpy()


@memoized
def torch_gradients(
    weights: Arrays, biases: Arrays, X: np.ndarray, y: np.ndarray, activation: str, output: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Gradients of the mean loss from ``loss.backward()``."""
    model = torch_network(weights, biases, activation)
    mean_loss(model, X, y, output).backward()
    return gradients_of(model)


@memoized
def torch_sgd(
    weights: Arrays,
    biases: Arrays,
    X: np.ndarray,
    y: np.ndarray,
    *,
    activation: str,
    output: str,
    lr: float,
    steps: int,
    weight_decay: float = 0.0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Parameters after ``steps`` full-batch ``torch.optim.SGD`` steps (weight decay on weights)."""
    model = torch_network(weights, biases, activation)
    layers = linears(model)
    optimizer = torch.optim.SGD(
        [
            {"params": [layer.weight for layer in layers], "weight_decay": weight_decay},
            {"params": [layer.bias for layer in layers], "weight_decay": 0.0},
        ],
        lr=lr,
    )
    for _ in range(steps):
        optimizer.zero_grad()
        mean_loss(model, X, y, output).backward()
        optimizer.step()
    return parameters_of(model)


@memoized
def finite_difference_gradients(
    weights: Arrays, biases: Arrays, X: np.ndarray, y: np.ndarray, activation: str, output: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Central differences of the reference mean loss with respect to every parameter."""

    def loss(ws: Arrays, bs: Arrays) -> float:
        y_hat, _ = ref.forward(ws, bs, X, activation, output)  # type: ignore[arg-type]
        if output == "sigmoid":
            return ref.binary_cross_entropy(y_hat, y)
        return ref.categorical_cross_entropy(y_hat, y)

    dW = [
        ref.numerical_gradient(
            lambda W, i=i: loss([*weights[:i], W, *weights[i + 1 :]], biases),
            weights[i],
            FINITE_DIFFERENCE_STEP,
        )
        for i in range(len(weights))
    ]
    db = [
        ref.numerical_gradient(
            lambda b, i=i: loss(weights, [*biases[:i], b, *biases[i + 1 :]]),
            biases[i],
            FINITE_DIFFERENCE_STEP,
        )
        for i in range(len(biases))
    ]
    return dW, db


#: Ways a PyTorch training loop is commonly written wrong, each reproduced by :func:`torch_loop`.
LOOP_MISTAKES = {
    "no-zero-grad": "optimizer.zero_grad() is missing: PyTorch adds each step's gradients to the "
    "previous ones",
    "loss-after-step": "the loss is recorded after optimizer.step() (record it before the update, "
    "as fit does)",
    "sigmoid-twice": "the model's probabilities go through a second sigmoid (nn.BCEWithLogitsLoss "
    "on probabilities): feed the probabilities to nn.BCELoss",
    "softmax-before-loss": "a softmax is applied before nn.CrossEntropyLoss, which applies "
    "log-softmax itself: feed it the logits",
}


@memoized
def torch_loop(
    weights: Arrays,
    biases: Arrays,
    X: np.ndarray,
    y: np.ndarray,
    *,
    activation: str,
    output: str,
    lr: float,
    epochs: int,
    mistake: str = "",
) -> tuple[list[float], list[float], list[np.ndarray], list[np.ndarray]]:
    """The lecture's full-batch training loop in float32 (PyTorch's default), trusted.

    Args:
        weights: ``(n_in, n_out)`` float32-representable weights; biases ``(1, n_out)``.
        X: Inputs ``(m, n_in)``; y: ``(m, 1)`` 0/1 labels (``output="sigmoid"``) or ``(m,)``
            class ids (``output="logits"``).
        activation: Hidden activation.
        output: ``"sigmoid"`` (model returns probabilities, ``nn.BCELoss``) or ``"logits"``
            (``nn.CrossEntropyLoss``).
        lr: Learning rate of ``torch.optim.SGD``.
        epochs: Full-batch steps.
        mistake: ``""`` or a key of :data:`LOOP_MISTAKES` (the curve that mistake gives).

    Returns:
        The loss and accuracy (percent) of each epoch before its update, and the final weights
        ``(n_in, n_out)`` and biases ``(1, n_out)``.
    """
    model = torch_network(weights, biases, activation).float()
    X_t = torch.tensor(np.asarray(X), dtype=torch.float32)
    if output == "sigmoid":
        y_t = torch.tensor(np.asarray(y), dtype=torch.float32)
        criterion: nn.Module = nn.BCELoss()
    else:
        y_t = torch.tensor(np.asarray(y), dtype=torch.long)
        criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses: list[float] = []
    accuracies: list[float] = []
    for _ in range(epochs):
        logits = model(X_t)
        if output == "sigmoid":
            outputs = torch.sigmoid(logits)
            scored = torch.sigmoid(outputs) if mistake == "sigmoid-twice" else outputs
            loss = criterion(scored, y_t)
            accuracy = ((outputs >= 0.5).float() == y_t).float().mean().item() * 100
        else:
            scored = torch.softmax(logits, dim=1) if mistake == "softmax-before-loss" else logits
            loss = criterion(scored, y_t)
            accuracy = (logits.argmax(dim=1) == y_t).float().mean().item() * 100
        if mistake != "no-zero-grad":
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if mistake == "loss-after-step":
            with torch.no_grad():
                after = model(X_t)
                after = torch.sigmoid(after) if output == "sigmoid" else after
                losses.append(float(criterion(after, y_t).item()))
        else:
            losses.append(float(loss.item()))
        accuracies.append(float(accuracy))
    W, b = parameters_of(model)
    return losses, accuracies, [w.astype(np.float64) for w in W], [v.astype(np.float64) for v in b]
