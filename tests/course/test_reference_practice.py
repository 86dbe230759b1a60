"""reference_impl.practice against PyTorch (float64): by-hand values, experiments, L2, snapshots."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from grader_tests.oracles import linears, t64, torch_network
from grader_tests.tolerances import REFERENCE_ATOL, REFERENCE_RTOL
from reference_impl import (
    BY_HAND_ANSWERS,
    MultiClassNeuralNetwork,
    NeuralNetwork,
    NeuralNetworkL2,
    run_experiment,
    snapshot_weights,
    two_layer_forward,
)

ACTIVATIONS = ["relu", "tanh", "sigmoid"]
LAMBDAS = {"lambda0": 0.0, "lambda0.1": 0.1, "lambda2": 2.0}


def moons_like(m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two noisy interleaved half circles (no sklearn needed): X (m, 2), y (m, 1)."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, size=m)
    label = rng.integers(0, 2, size=m)
    X = np.stack([np.cos(angle) + label, np.sin(angle) * (1 - 2 * label) + 0.5 * label], axis=1)
    return X + rng.normal(scale=0.1, size=X.shape), label.reshape(-1, 1).astype(float)


def torch_model(network: NeuralNetwork) -> nn.Sequential:
    """nn.Linear layers with the network's parameters (Linear.weight is W.T); outputs logits."""
    return torch_network(network.weights, network.biases, network.activation_name)


def l2_network(activation: str, l2_lambda: float, lr: float = 0.2) -> NeuralNetworkL2:
    np.random.seed(0)
    network = NeuralNetworkL2([2, 6, 4, 1], activation, learning_rate=lr, l2_lambda=l2_lambda)
    rng = np.random.default_rng(1)
    network.biases = [rng.normal(scale=0.5, size=b.shape) for b in network.biases]
    return network


def torch_l2_loss(model: nn.Sequential, X: np.ndarray, y: np.ndarray, l2_lambda: float):
    m = len(y)
    bce = nn.BCELoss()(torch.sigmoid(model(t64(X))), t64(y))
    penalty = sum((linear.weight**2).sum() for linear in linears(model))
    return bce + l2_lambda / (2 * m) * penalty


def l2_cases() -> list[Any]:
    return [
        pytest.param(activation, value, id=f"{activation}-{name}")
        for activation in ACTIVATIONS
        for name, value in LAMBDAS.items()
    ]


# ---------------------------------------------------------------- notebook 1


TWO_LAYER_CASES = {"batch1": (1, 2, 3), "single-feature": (6, 1, 4), "batch10": (10, 3, 5)}


@pytest.mark.parametrize(("m", "n", "h"), TWO_LAYER_CASES.values(), ids=TWO_LAYER_CASES.keys())
def test_two_layer_forward_matches_torch(m: int, n: int, h: int) -> None:
    rng = np.random.default_rng(m + n + h)
    X, W1, b1 = rng.normal(size=(m, n)), rng.normal(size=(n, h)), rng.normal(size=(1, h))
    W2, b2 = rng.normal(size=(h, 1)), rng.normal(size=(1, 1))
    z1_t = t64(X) @ t64(W1) + t64(b1)
    a1_t = torch.relu(z1_t)
    z2_t = a1_t @ t64(W2) + t64(b2)
    expected = [z1_t, a1_t, z2_t, torch.sigmoid(z2_t)]
    result = two_layer_forward(X, W1, b1, W2, b2)
    assert [r.shape for r in result] == [(m, h), (m, h), (m, 1), (m, 1)]
    for ours, theirs in zip(result, expected, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


def test_two_layer_forward_reproduces_the_lecture_step_8_example() -> None:
    np.random.seed(42)
    X = np.array([[1.0, 2.0]])
    W1 = np.random.randn(2, 3) * 0.1
    b1 = np.zeros((1, 3))
    W2 = np.random.randn(3, 1) * 0.1
    b2 = np.zeros((1, 1))
    z1, a1, z2, y_hat = two_layer_forward(X, W1, b1, W2, b2)
    np.testing.assert_array_equal(z1, X @ W1 + b1)
    np.testing.assert_array_equal(a1, np.maximum(0, z1))
    np.testing.assert_array_equal(z2, a1 @ W2 + b2)
    np.testing.assert_allclose(y_hat, 1 / (1 + np.exp(-z2)), rtol=REFERENCE_RTOL, atol=0)


def test_two_layer_forward_does_not_mutate_arguments() -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in [(4, 2), (2, 3), (1, 3), (3, 1), (1, 1)]]
    saved = [a.copy() for a in arrays]
    two_layer_forward(*arrays)
    for array, before in zip(arrays, saved, strict=True):
        np.testing.assert_array_equal(array, before)


BY_HAND_TORCH = {
    "relu(2)": lambda: torch.relu(t64(2.0)),
    "relu(-2)": lambda: torch.relu(t64(-2.0)),
    "tanh(1)": lambda: torch.tanh(t64(1.0)),
    "sigmoid(0)": lambda: torch.sigmoid(t64(0.0)),
    "relu_layer": lambda: torch.relu(
        t64([1.0, 2.0]) @ t64([[0.5, -0.5], [0.3, 0.7]]) + t64([0.1, -0.1])
    ),
}


def test_by_hand_answers_cover_exactly_the_graded_keys() -> None:
    assert set(BY_HAND_ANSWERS) == set(BY_HAND_TORCH)


@pytest.mark.parametrize("key", BY_HAND_TORCH.keys())
def test_by_hand_answer_matches_torch(key: str) -> None:
    np.testing.assert_allclose(
        BY_HAND_ANSWERS[key],
        BY_HAND_TORCH[key]().numpy(),
        rtol=REFERENCE_RTOL,
        atol=REFERENCE_ATOL,
    )


# ---------------------------------------------------------------- run_experiment


def test_run_experiment_is_deterministic_given_the_seed() -> None:
    X, y = moons_like(40)
    first = run_experiment(X, y, [2, 5, 1], "tanh", learning_rate=0.5, epochs=30, seed=3)
    np.random.seed(999)  # the global state before the call must not matter
    second = run_experiment(X, y, [2, 5, 1], "tanh", learning_rate=0.5, epochs=30, seed=3)
    assert first == second


def test_run_experiment_depends_on_the_seed() -> None:
    X, y = moons_like(40)
    first = run_experiment(X, y, [2, 5, 1], epochs=5, seed=0)
    second = run_experiment(X, y, [2, 5, 1], epochs=5, seed=1)
    assert first["losses"] != second["losses"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_run_experiment_equals_training_by_hand(activation: str) -> None:
    X, y = moons_like(40)
    result = run_experiment(X, y, [2, 8, 4, 1], activation, learning_rate=0.3, epochs=25, seed=7)
    np.random.seed(7)
    network = NeuralNetwork([2, 8, 4, 1], activation, 0.3)
    network.fit(X, y, epochs=25, verbose=False)
    assert result["losses"] == [float(loss) for loss in network.losses]
    assert result["final_loss"] == network.losses[-1]
    assert result["final_accuracy"] == network.accuracies[-1]


def test_run_experiment_result_types_and_length(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = moons_like(30)
    result = run_experiment(X, y, [2, 4, 1], epochs=12)
    assert set(result) == {"final_loss", "final_accuracy", "losses"}
    assert type(result["final_loss"]) is float
    assert type(result["final_accuracy"]) is float
    assert len(result["losses"]) == 12
    assert all(type(loss) is float for loss in result["losses"])
    assert result["final_loss"] == result["losses"][-1]
    assert 0.0 <= result["final_accuracy"] <= 100.0
    assert capsys.readouterr().out == ""


def test_run_experiment_defaults() -> None:
    X, y = moons_like(20)
    result = run_experiment(X, y, [2, 3, 1])
    np.random.seed(0)
    network = NeuralNetwork([2, 3, 1], "relu", 0.1)
    network.fit(X, y, epochs=500, verbose=False)
    assert len(result["losses"]) == 500
    assert result["final_loss"] == network.losses[-1]


def test_run_experiment_does_not_mutate_data() -> None:
    X, y = moons_like(20)
    X_before, y_before = X.copy(), y.copy()
    run_experiment(X, y, [2, 3, 1], epochs=3)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


# ---------------------------------------------------------------- NeuralNetworkL2


def test_l2_network_is_a_neural_network_with_l2_lambda() -> None:
    network = NeuralNetworkL2([2, 3, 1], "tanh", learning_rate=0.05, l2_lambda=0.7)
    assert isinstance(network, NeuralNetwork)
    assert network.l2_lambda == 0.7
    assert network.lr == 0.05
    assert network.activation_name == "tanh"
    assert NeuralNetworkL2([2, 3, 1]).l2_lambda == 0.0


@pytest.mark.parametrize(("activation", "l2_lambda"), l2_cases())
def test_l2_loss_matches_torch_bce_plus_penalty(activation: str, l2_lambda: float) -> None:
    network = l2_network(activation, l2_lambda)
    X, y = moons_like(15)
    with torch.no_grad():
        expected = torch_l2_loss(torch_model(network), X, y, l2_lambda).item()
    result = network.compute_loss(network.forward(X), y)
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@pytest.mark.parametrize(("activation", "l2_lambda"), l2_cases())
def test_l2_gradients_match_autograd(activation: str, l2_lambda: float) -> None:
    network = l2_network(activation, l2_lambda)
    X, y = moons_like(15)
    model = torch_model(network)
    torch_l2_loss(model, X, y, l2_lambda).backward()
    network.forward(X)
    dW, db = network.backward(X, y)
    for i, linear in enumerate(linears(model)):
        assert linear.weight.grad is not None and linear.bias.grad is not None
        np.testing.assert_allclose(
            dW[i], linear.weight.grad.numpy().T, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
        )
        np.testing.assert_allclose(
            db[i].ravel(), linear.bias.grad.numpy(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
        )


@pytest.mark.parametrize(("activation", "l2_lambda"), l2_cases())
def test_l2_step_matches_torch_sgd_weight_decay_on_weights_only(
    activation: str, l2_lambda: float
) -> None:
    network = l2_network(activation, l2_lambda, lr=0.4)
    X, y = moons_like(15)
    m = len(y)
    model = torch_model(network)
    optimizer = torch.optim.SGD(
        [
            {"params": [linear.weight for linear in linears(model)], "weight_decay": l2_lambda / m},
            {"params": [linear.bias for linear in linears(model)], "weight_decay": 0.0},
        ],
        lr=0.4,
    )
    nn.BCELoss()(torch.sigmoid(model(t64(X))), t64(y)).backward()
    optimizer.step()
    network.forward(X)
    network.update_parameters(*network.backward(X, y))
    for W, b, linear in zip(network.weights, network.biases, linears(model), strict=True):
        np.testing.assert_allclose(
            W, linear.weight.detach().numpy().T, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
        )
        np.testing.assert_allclose(
            b.ravel(), linear.bias.detach().numpy(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
        )


def test_l2_bias_gradients_are_not_regularised() -> None:
    X, y = moons_like(15)
    regularised = l2_network("relu", 5.0)
    plain = l2_network("relu", 0.0)
    regularised.forward(X)
    plain.forward(X)
    _, db_regularised = regularised.backward(X, y)
    _, db_plain = plain.backward(X, y)
    for ours, theirs in zip(db_regularised, db_plain, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_l2_does_not_mutate_weights_or_labels_in_backward() -> None:
    network = l2_network("tanh", 1.0)
    X, y = moons_like(10)
    weights_before = [W.copy() for W in network.weights]
    y_before = y.copy()
    network.forward(X)
    network.backward(X, y)
    network.compute_loss(network.forward(X), y)
    for W, before in zip(network.weights, weights_before, strict=True):
        np.testing.assert_array_equal(W, before)
    np.testing.assert_array_equal(y, y_before)


# ---------------------------------------------------------------- snapshot_weights


SNAPSHOT_NETWORKS = {
    "binary": lambda: NeuralNetwork([2, 5, 1], "relu", 0.5),
    "multiclass": lambda: MultiClassNeuralNetwork([2, 5, 2], "relu", 0.5),
    "l2": lambda: NeuralNetworkL2([2, 5, 1], "relu", 0.5, l2_lambda=0.1),
}


@pytest.mark.parametrize("kind", SNAPSHOT_NETWORKS.keys())
def test_snapshot_weights_is_an_independent_copy(kind: str) -> None:
    np.random.seed(0)
    network = SNAPSHOT_NETWORKS[kind]()
    X, y = moons_like(20)
    labels = y.ravel().astype(int) if kind == "multiclass" else y
    snapshot = snapshot_weights(network)
    frozen = [W.copy() for W in network.weights]
    assert isinstance(snapshot, list)
    assert len(snapshot) == len(network.weights)
    for copy, W in zip(snapshot, network.weights, strict=True):
        np.testing.assert_array_equal(copy, W)
        assert not np.shares_memory(copy, W)
    network.fit(X, labels, epochs=5, verbose=False)
    for copy, before, after in zip(snapshot, frozen, network.weights, strict=True):
        np.testing.assert_array_equal(copy, before)
        assert not np.array_equal(copy, after)
