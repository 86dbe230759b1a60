"""Set-up shared by the checks of ``NeuralNetwork`` and ``MultiClassNeuralNetwork``.

Architectures to test (batch size 1, a single feature, two hidden layers, no hidden layer), hidden
inputs drawn per check, a student network holding given parameters, and the gradients that known
mistakes produce (for naming the likely mistake).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_circles, make_moons

import reference_impl as ref
from grader_tests import oracles
from grader_tests.compare import check_close, check_true, shape_of
from grader_tests.tolerances import TRAINING_ATOL, TRAINING_RTOL

HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid")
#: Hidden pre-activations stay this far from ReLU's kink, so finite differences are valid.
KINK_MARGIN = 1e-3


@dataclass(frozen=True)
class Architecture:
    key: str
    sizes: tuple[int, ...]
    m: int


BINARY = (
    Architecture("batch1", (3, 4, 1), 1),
    Architecture("single-feature", (1, 5, 1), 8),
    Architecture("two-hidden", (2, 10, 5, 1), 16),
    Architecture("no-hidden", (4, 1), 6),
)
MULTICLASS = (
    Architecture("batch1", (3, 4, 3), 1),
    Architecture("single-feature", (1, 5, 4), 8),
    Architecture("two-hidden", (4, 10, 8, 3), 16),
    Architecture("no-hidden", (4, 3), 6),
)


def case_table(
    architectures: tuple[Architecture, ...], keys: tuple[str, ...] | None = None
) -> dict[str, tuple[str, Architecture]]:
    """``(activation, architecture)`` by id such as ``tanh-batch1`` (only ``keys``, if given)."""
    return {
        f"{activation}-{arch.key}": (activation, arch)
        for activation in HIDDEN_ACTIVATIONS
        for arch in architectures
        if keys is None or arch.key in keys
    }


def cases(
    architectures: tuple[Architecture, ...], keys: tuple[str, ...] | None = None
) -> list[Any]:
    """``(activation, architecture)`` parameters with ids such as ``tanh-batch1``."""
    return [pytest.param(*case, id=key) for key, case in case_table(architectures, keys).items()]


@dataclass
class Problem:
    """Hidden inputs of one check: parameters, a batch and its labels."""

    activation: str
    output: str  # "sigmoid" (binary) or "softmax" (multi-class)
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    X: np.ndarray
    y: np.ndarray

    @property
    def m(self) -> int:
        return len(self.X)

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[0], *(W.shape[1] for W in self.weights)]

    def reference_forward(self) -> tuple[np.ndarray, ref.ForwardCache]:
        return ref.forward(self.weights, self.biases, self.X, self.activation, self.output)  # type: ignore[arg-type]

    def reference_gradients(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        _, cache = self.reference_forward()
        return ref.backward(self.weights, cache, self.y, self.activation, self.output)  # type: ignore[arg-type]


def draw_problem(
    rng: np.random.Generator, arch: Architecture, activation: str, output: str, labels: str = "ids"
) -> Problem:
    """Random parameters (non-zero biases) and a batch, with hidden pre-activations away from 0.

    Args:
        rng: The check's generator.
        arch: Layer sizes and batch size.
        activation: Hidden activation.
        output: ``"sigmoid"`` or ``"softmax"``.
        labels: For softmax outputs, ``"ids"`` (shape ``(m,)``) or ``"one-hot"`` (``(m, K)``).
    """
    for _ in range(100):
        weights = [
            rng.normal(scale=1.5 / np.sqrt(a), size=(a, b))
            for a, b in zip(arch.sizes, arch.sizes[1:], strict=False)
        ]
        biases = [rng.normal(scale=0.5, size=(1, b)) for b in arch.sizes[1:]]
        X = rng.normal(size=(arch.m, arch.sizes[0]))
        k = arch.sizes[-1]
        if output == "sigmoid":
            y = rng.integers(0, 2, size=(arch.m, 1)).astype(np.float64)
        else:
            ids = rng.integers(0, k, size=arch.m)
            y = ref.one_hot(ids, k) if labels == "one-hot" else ids
        problem = Problem(activation, output, weights, biases, X, y)
        _, cache = problem.reference_forward()
        if min((np.abs(z).min() for z in cache.z_values[:-1]), default=1.0) > KINK_MARGIN:
            return problem
    raise RuntimeError("could not draw inputs away from the kink")  # pragma: no cover


def draw_binary(rng: np.random.Generator, case: tuple[str, Architecture]) -> Problem:
    """A binary problem for a case of :func:`case_table`."""
    activation, arch = case
    return draw_problem(rng, arch, activation, "sigmoid")


def reference_output(problem: Problem) -> np.ndarray:
    """The reference network's output (probabilities)."""
    return problem.reference_forward()[0]


def torch_output(problem: Problem) -> np.ndarray:
    """An identical ``torch.nn`` model's output (probabilities)."""
    return oracles.torch_forward(
        problem.weights, problem.biases, problem.X, problem.activation, problem.output
    )


def reference_gradients(problem: Problem) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return problem.reference_gradients()


def torch_gradients(problem: Problem) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``loss.backward()`` of an identical ``torch.nn`` model."""
    return oracles.torch_gradients(
        problem.weights, problem.biases, problem.X, problem.y, problem.activation, problem.output
    )


def central_gradients(problem: Problem) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Central differences of the reference mean loss."""
    return oracles.finite_difference_gradients(
        problem.weights, problem.biases, problem.X, problem.y, problem.activation, problem.output
    )


def student_network(
    student: Any, class_name: str, problem: Problem, lr: float = 0.1, **options: Any
) -> Any:
    """The student's network with the problem's parameters (copied in through the public API);
    ``options`` are further keyword arguments of the constructor (e.g. ``l2_lambda``)."""
    network = student.new(
        class_name, problem.sizes, activation=problem.activation, learning_rate=lr, **options
    )
    network.set("weights", [W.copy() for W in problem.weights])
    network.set("biases", [b.copy() for b in problem.biases])
    return network


def unpack_gradients(result: Any, problem: Problem, what: str) -> tuple[list[Any], list[Any]]:
    """The student's ``(dW, db)``, with each ``db[i]`` allowed as ``(n,)`` or ``(1, n)``."""
    layers = len(problem.weights)
    check_true(
        isinstance(result, tuple | list) and len(result) == 2,
        f"{what} should return (dW, db), two lists with one array per layer; "
        f"got {type(result).__name__}",
    )
    dW, db = result
    check_true(
        isinstance(dW, list | tuple)
        and isinstance(db, list | tuple)
        and len(dW) == len(db) == layers,
        f"{what} should return one dW and one db per layer ({layers} layers)",
    )
    rows = [
        np.reshape(g, (1, -1)) if np.size(g) == b.size else g
        for g, b in zip(db, problem.biases, strict=False)
    ]
    return list(dW), rows


def gradient_mistakes(problem: Problem) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """``(dW, db)`` as produced by known back-propagation mistakes."""
    _, cache = problem.reference_forward()
    dW, db = problem.reference_gradients()
    m = problem.m
    at_activation = ref.ForwardCache(cache.activations, cache.activations[1:])
    # tanh'(0) == 1: with every z set to 0, backward multiplies by 1, i.e. skips the derivative.
    no_derivative = ref.ForwardCache(cache.activations, [np.zeros_like(z) for z in cache.z_values])
    kind = problem.output
    at_activation_name = "the activation derivative is taken at the activation a, not at z"
    no_derivative_name = "the activation derivative is left out between hidden layers"
    return {
        "the 1/m factor of the mean is missing": ([m * g for g in dW], [m * g for g in db]),
        at_activation_name: ref.backward(
            problem.weights,
            at_activation,
            problem.y,
            problem.activation,
            kind,  # type: ignore[arg-type]
        ),
        no_derivative_name: ref.backward(
            problem.weights,
            no_derivative,
            problem.y,
            "tanh",
            kind,  # type: ignore[arg-type]
        ),
    }


def layer_mistakes(
    mistakes: dict[str, tuple[list[np.ndarray], list[np.ndarray]]], part: int, layer: int
) -> dict[str, np.ndarray]:
    """The mistakes' gradient of one parameter (``part`` 0: dW, 1: db) of one layer."""
    return {name: grads[part][layer] for name, grads in mistakes.items()}


def describe(problem: Problem) -> str:
    """The problem's input, without its values: shape, layers, activation and label format."""
    labels = ""
    if problem.output == "softmax":
        labels = ", one-hot labels" if np.ndim(problem.y) == 2 else ", labels as class ids"
    return f"{shape_of(problem.X)} through layers {problem.sizes} ({problem.activation}{labels})"


def check_gradients(
    got: Any,
    expected: tuple[list[np.ndarray], list[np.ndarray]],
    problem: Problem,
    oracle: str,
    *,
    what: str = "backward(X, y_true)",
    mistakes: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] | None = None,
    **tolerances: float,
) -> None:
    """Compare the student's ``(dW, db)`` with an oracle's, layer by layer.

    Args:
        got: The student's result.
        expected: The oracle's ``(dW, db)``.
        problem: The hidden inputs.
        oracle: Who computed ``expected``.
        what: The student's call, for the messages.
        mistakes: Known mistakes' ``(dW, db)`` (default: :func:`gradient_mistakes`).
        tolerances: ``rtol``/``atol`` of :func:`check_close`.
    """
    dW, db = unpack_gradients(got, problem, what)
    known = gradient_mistakes(problem) if mistakes is None else mistakes
    for part, (student_grads, oracle_grads) in enumerate([(dW, expected[0]), (db, expected[1])]):
        name = ("dW", "db")[part]
        for layer, (got_layer, expected_layer) in enumerate(
            zip(student_grads, oracle_grads, strict=False)
        ):
            check_close(
                got_layer,
                expected_layer,
                what=f"{name}[{layer}] from {what}",
                oracle=oracle,
                on=describe(problem),
                mistakes=layer_mistakes(known, part, layer),
                **tolerances,
            )


def check_update_step(network: Any, problem: Problem, lr: float) -> None:
    """``update_parameters`` with the reference gradients against one ``torch.optim.SGD`` step."""
    dW, db = problem.reference_gradients()
    network.call("update_parameters", dW, db)
    expected_W, expected_b = oracles.torch_sgd(
        problem.weights,
        problem.biases,
        problem.X,
        problem.y,
        activation=problem.activation,
        output=problem.output,
        lr=lr,
        steps=1,
    )
    for name, got, expected, before, grads in [
        ("weights", network.get("weights"), expected_W, problem.weights, dW),
        ("biases", network.get("biases"), expected_b, problem.biases, db),
    ]:
        for layer in range(len(expected)):
            check_close(
                got[layer],
                expected[layer],
                what=f"{name}[{layer}] after update_parameters(dW, db)",
                oracle="one torch.optim.SGD step",
                on=f"layers {problem.sizes}, lr={lr}",
                mistakes={
                    f"the {name} are not updated": before[layer],
                    "the gradient is added instead of subtracted": before[layer]
                    + lr * grads[layer],
                    "the learning rate is not used": before[layer] - grads[layer],
                },
            )


def check_fit_matches_sgd(
    network: Any, problem: Problem, *, lr: float, epochs: int, oracle: str = ""
) -> None:
    """The parameters after the student's ``fit`` against as many ``torch.optim.SGD`` steps."""
    network.call("fit", problem.X, problem.y, epochs=epochs, verbose=False)
    expected_W, expected_b = oracles.torch_sgd(
        problem.weights,
        problem.biases,
        problem.X,
        problem.y,
        activation=problem.activation,
        output=problem.output,
        lr=lr,
        steps=epochs,
    )
    for name, got, expected in [
        ("weights", network.get("weights"), expected_W),
        ("biases", network.get("biases"), expected_b),
    ]:
        for layer in range(len(expected)):
            check_close(
                got[layer],
                expected[layer],
                what=f"{name}[{layer}] after fit(X, y, epochs={epochs})",
                oracle=oracle or f"{epochs} torch.optim.SGD steps",
                on=describe(problem),
                rtol=TRAINING_RTOL,
                atol=TRAINING_ATOL,
            )


# -- __init__ of both networks ------------------------------------------------------------------

#: A correct initialisation's sample variance is within this relative distance (over 10 sigma).
INIT_VARIANCE_TOLERANCE = 0.06


def check_init_shapes(student: Any, class_name: str, sizes: list[int]) -> None:
    """``weights[i]`` ``(sizes[i], sizes[i+1])`` and zero ``biases[i]`` ``(1, sizes[i+1])``."""
    network = student.new(class_name, sizes, activation="relu", learning_rate=0.05)
    weights, biases = network.get("weights"), network.get("biases")
    expected = list(itertools.pairwise(sizes))
    check_true(
        [np.shape(W) for W in weights] == expected,
        f"{class_name}({sizes}).weights should have shapes {expected}, "
        f"got {[np.shape(W) for W in weights]}",
    )
    check_true(
        [np.shape(b) for b in biases] == [(1, b) for _, b in expected],
        f"{class_name}({sizes}).biases should have shapes {[(1, b) for _, b in expected]}",
    )
    check_true(all(not np.any(b) for b in biases), "the biases should start at zero")


def check_init_hyperparameters(student: Any, class_name: str, sizes: list[int]) -> None:
    """``lr`` kept, ``losses`` and ``accuracies`` empty lists."""
    network = student.new(class_name, sizes, activation="tanh", learning_rate=0.05)
    check_true(network.get("lr") == 0.05, "the learning rate should be stored as `lr`")
    check_true(
        list(network.get("losses")) == [] and list(network.get("accuracies")) == [],
        "`losses` and `accuracies` should start as empty lists",
    )


def check_init_scale(student: Any, class_name: str, sizes: list[int], activation: str) -> None:
    """Normal weights of mean 0 and variance 2 / fan_in (ReLU, He) or 1 / fan_in."""
    network = student.invoke(class_name, [sizes], {"activation": activation}, seed=11).value
    gain = 2.0 if activation == "relu" else 1.0
    for layer, W in enumerate(network.get("weights")):
        fan_in = sizes[layer]
        values = np.ravel(W)
        expected = gain / fan_in
        ratio = float(np.var(values) / expected)
        rule = "He: 2 / fan_in" if activation == "relu" else "1 / fan_in"
        check_true(
            abs(ratio - 1) < INIT_VARIANCE_TOLERANCE,
            f"weights[{layer}] of a {activation} {class_name} have variance {ratio:.2f} times "
            f"the expected {rule} (fan_in = {fan_in})",
        )
        check_true(
            abs(float(np.mean(values))) < 6 * np.sqrt(expected / values.size),
            f"weights[{layer}] should have mean 0",
        )
        excess_kurtosis = float(np.mean((values - values.mean()) ** 4) / np.var(values) ** 2 - 3)
        check_true(
            abs(excess_kurtosis) < 0.3,
            f"weights[{layer}] do not look normally distributed (draw them with np.random.randn)",
        )


# -- the lecture's data sets ------------------------------------------------------------------


def moons(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's moons (300 points, noise 0.1) drawn with ``seed``; labels ``(m, 1)``."""
    X, y = make_moons(n_samples=300, noise=0.1, random_state=seed)
    return X, y.reshape(-1, 1).astype(float)


def circles(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's circles (300 points, noise 0.1, factor 0.5) drawn with ``seed``."""
    X, y = make_circles(n_samples=300, noise=0.1, factor=0.5, random_state=seed)
    return X, y.reshape(-1, 1).astype(float)
