"""reference_impl.networks against identical torch.nn models and PyTorch autograd (float64)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from grader_tests.oracles import linears, t64, torch_network
from grader_tests.tolerances import REFERENCE_ATOL, REFERENCE_RTOL
from reference_impl import (
    ForwardCache,
    MultiClassNeuralNetwork,
    NeuralNetwork,
    backward,
    forward,
    init_parameters,
    softmax,
)

ACTIVATIONS = ["relu", "tanh", "sigmoid"]

# id -> (layer_sizes, batch size m)
BINARY_ARCHS = {
    "batch1": ([3, 4, 1], 1),
    "single-feature": ([1, 5, 1], 8),
    "no-hidden": ([4, 1], 6),
    "deep": ([2, 10, 5, 1], 16),
}
MULTI_ARCHS = {
    "batch1": ([3, 4, 3], 1),
    "single-feature": ([1, 5, 4], 8),
    "no-hidden": ([4, 3], 6),
    "deep": ([4, 10, 8, 3], 16),
}

Network = NeuralNetwork | MultiClassNeuralNetwork
NETWORK_CLASSES: dict[str, type[Network]] = {
    "binary": NeuralNetwork,
    "multiclass": MultiClassNeuralNetwork,
}


def cases(archs: dict[str, tuple[list[int], int]]) -> list[Any]:
    return [
        pytest.param(activation, sizes, m, id=f"{activation}-{name}")
        for activation in ACTIVATIONS
        for name, (sizes, m) in archs.items()
    ]


def make_network(
    cls: type[Network], sizes: list[int], activation: str, lr: float = 0.1, seed: int = 0
) -> Network:
    """A network from the lecture's init, with random (non-zero) biases so they matter."""
    np.random.seed(seed)
    network = cls(sizes, activation=activation, learning_rate=lr)
    rng = np.random.default_rng(seed + 1)
    network.biases = [rng.normal(scale=0.5, size=b.shape) for b in network.biases]
    return network


def make_data(sizes: list[int], m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(m, n_in)`` and labels: ``(m, 1)`` 0/1 for one output, else class ids ``(m,)``."""
    rng = np.random.default_rng(seed + 2)
    X = rng.normal(size=(m, sizes[0]))
    k = sizes[-1]
    y = rng.integers(0, 2, size=(m, 1)).astype(float) if k == 1 else rng.integers(0, k, size=m)
    return X, y


def torch_model(network: Network) -> nn.Sequential:
    """nn.Linear layers with the network's parameters (Linear.weight is W.T); outputs logits."""
    return torch_network(network.weights, network.biases, network.activation_name)


def torch_loss(model: nn.Sequential, X: np.ndarray, y: np.ndarray, multiclass: bool):
    logits = model(t64(X))
    if multiclass:
        return nn.CrossEntropyLoss()(logits, torch.tensor(y)), torch.softmax(logits, dim=1)
    probabilities = torch.sigmoid(logits)
    return nn.BCELoss()(probabilities, t64(y)), probabilities


def assert_parameters_match(network: Network, model: nn.Sequential) -> None:
    for W, b, linear in zip(network.weights, network.biases, linears(model), strict=True):
        np.testing.assert_allclose(
            W, linear.weight.detach().numpy().T, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
        )
        np.testing.assert_allclose(
            b.ravel(), linear.bias.detach().numpy(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
        )


def assert_gradients_match(
    dW: list[np.ndarray], db: list[np.ndarray], network: Network, model: nn.Sequential
) -> None:
    assert len(dW) == len(db) == len(network.weights)
    for i, linear in enumerate(linears(model)):
        assert dW[i].shape == network.weights[i].shape
        assert db[i].shape == network.biases[i].shape
        assert linear.weight.grad is not None and linear.bias.grad is not None
        np.testing.assert_allclose(
            dW[i], linear.weight.grad.numpy().T, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
        )
        np.testing.assert_allclose(
            db[i].ravel(), linear.bias.grad.numpy(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
        )


# ---------------------------------------------------------------- initialisation


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_init_parameters_reproduces_the_lecture(activation: str) -> None:
    sizes = [2, 10, 5, 1]
    np.random.seed(42)
    weights, biases = init_parameters(sizes, activation)
    np.random.seed(42)
    for i in range(len(sizes) - 1):
        scale = np.sqrt((2.0 if activation == "relu" else 1.0) / sizes[i])
        np.testing.assert_array_equal(weights[i], np.random.randn(sizes[i], sizes[i + 1]) * scale)
        np.testing.assert_array_equal(biases[i], np.zeros((1, sizes[i + 1])))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", NETWORK_CLASSES.keys())
def test_constructor_sets_the_student_api_attributes(kind: str, activation: str) -> None:
    sizes = [4, 6, 3] if kind == "multiclass" else [4, 6, 1]
    np.random.seed(3)
    network = NETWORK_CLASSES[kind](sizes, activation=activation, learning_rate=0.25)
    np.random.seed(3)
    weights, biases = init_parameters(sizes, activation)
    assert network.layer_sizes == sizes
    assert network.activation_name == activation
    assert network.lr == 0.25
    assert network.losses == []
    assert network.accuracies == []
    for ours, expected in zip(network.weights + network.biases, weights + biases, strict=True):
        np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("kind", NETWORK_CLASSES.keys())
def test_default_activation_and_learning_rate(kind: str) -> None:
    network = NETWORK_CLASSES[kind]([2, 3, 2] if kind == "multiclass" else [2, 3, 1])
    assert network.activation_name == "relu"
    assert network.lr == 0.01


@pytest.mark.parametrize("kind", NETWORK_CLASSES.keys())
def test_unknown_activation_is_rejected(kind: str) -> None:
    with pytest.raises(ValueError, match="activation"):
        NETWORK_CLASSES[kind]([2, 3, 1], activation="softplus")


# ---------------------------------------------------------------- binary network


@pytest.mark.parametrize(("activation", "sizes", "m"), cases(BINARY_ARCHS))
def test_binary_forward_matches_torch(activation: str, sizes: list[int], m: int) -> None:
    network = make_network(NeuralNetwork, sizes, activation)
    X, _ = make_data(sizes, m)
    with torch.no_grad():
        expected = torch.sigmoid(torch_model(network)(t64(X))).numpy()
    result = network.forward(X)
    assert result.shape == (m, 1)
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@pytest.mark.parametrize(("activation", "sizes", "m"), cases(BINARY_ARCHS))
def test_binary_loss_matches_torch(activation: str, sizes: list[int], m: int) -> None:
    network = make_network(NeuralNetwork, sizes, activation)
    X, y = make_data(sizes, m)
    with torch.no_grad():
        expected, _ = torch_loss(torch_model(network), X, y, multiclass=False)
    result = network.compute_loss(network.forward(X), y)
    np.testing.assert_allclose(result, expected.item(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@pytest.mark.parametrize(("activation", "sizes", "m"), cases(BINARY_ARCHS))
def test_binary_gradients_match_autograd(activation: str, sizes: list[int], m: int) -> None:
    network = make_network(NeuralNetwork, sizes, activation)
    X, y = make_data(sizes, m)
    model = torch_model(network)
    loss, _ = torch_loss(model, X, y, multiclass=False)
    loss.backward()
    network.forward(X)
    dW, db = network.backward(X, y)
    assert_gradients_match(dW, db, network, model)


# ---------------------------------------------------------------- multi-class network


@pytest.mark.parametrize(("activation", "sizes", "m"), cases(MULTI_ARCHS))
def test_multiclass_forward_matches_torch(activation: str, sizes: list[int], m: int) -> None:
    network = make_network(MultiClassNeuralNetwork, sizes, activation)
    X, _ = make_data(sizes, m)
    with torch.no_grad():
        expected = torch.softmax(torch_model(network)(t64(X)), dim=1).numpy()
    result = network.forward(X)
    assert result.shape == (m, sizes[-1])
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@pytest.mark.parametrize("label_format", ["ids", "one-hot"])
@pytest.mark.parametrize(("activation", "sizes", "m"), cases(MULTI_ARCHS))
def test_multiclass_loss_matches_torch(
    activation: str, sizes: list[int], m: int, label_format: str
) -> None:
    network = make_network(MultiClassNeuralNetwork, sizes, activation)
    X, ids = make_data(sizes, m)
    with torch.no_grad():
        expected, _ = torch_loss(torch_model(network), X, ids, multiclass=True)
    labels = ids if label_format == "ids" else np.eye(sizes[-1])[ids]
    result = network.compute_loss(network.forward(X), labels)
    np.testing.assert_allclose(result, expected.item(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@pytest.mark.parametrize("label_format", ["ids", "one-hot"])
@pytest.mark.parametrize(("activation", "sizes", "m"), cases(MULTI_ARCHS))
def test_multiclass_gradients_match_autograd(
    activation: str, sizes: list[int], m: int, label_format: str
) -> None:
    network = make_network(MultiClassNeuralNetwork, sizes, activation)
    X, ids = make_data(sizes, m)
    model = torch_model(network)
    loss, _ = torch_loss(model, X, ids, multiclass=True)
    loss.backward()
    labels = ids if label_format == "ids" else np.eye(sizes[-1])[ids]
    network.forward(X)
    dW, db = network.backward(X, labels)
    assert_gradients_match(dW, db, network, model)


def test_multiclass_softmax_method_is_row_wise_softmax() -> None:
    z = np.random.default_rng(0).normal(scale=5.0, size=(6, 4))
    network = MultiClassNeuralNetwork([2, 4])
    expected = torch.softmax(t64(z), dim=1).numpy()
    np.testing.assert_allclose(network.softmax(z), expected, rtol=REFERENCE_RTOL, atol=0)
    np.testing.assert_array_equal(network.softmax(z), softmax(z))


@pytest.mark.parametrize("label_format", ["ids", "one-hot"])
def test_multiclass_accuracy_matches_torch(label_format: str) -> None:
    sizes = [4, 10, 3]
    network = make_network(MultiClassNeuralNetwork, sizes, "relu")
    X, ids = make_data(sizes, 40)
    with torch.no_grad():
        logits = torch_model(network)(t64(X))
    expected = (logits.argmax(dim=1) == torch.tensor(ids)).double().mean().item() * 100
    labels = ids if label_format == "ids" else np.eye(3)[ids]
    result = network.compute_accuracy(network.forward(X), labels)
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


# ---------------------------------------------------------------- caches and functional core


@pytest.mark.parametrize("kind", NETWORK_CLASSES.keys())
def test_forward_keeps_the_lecture_caches(kind: str) -> None:
    sizes = [3, 5, 4, 2] if kind == "multiclass" else [3, 5, 4, 1]
    network = make_network(NETWORK_CLASSES[kind], sizes, "tanh")
    X, _ = make_data(sizes, 7)
    output = network.forward(X)
    assert len(network.activations) == len(sizes)
    assert len(network.z_values) == len(sizes) - 1
    np.testing.assert_array_equal(network.activations[0], X)
    np.testing.assert_array_equal(network.activations[-1], output)
    for i, z in enumerate(network.z_values):
        expected_z = network.activations[i] @ network.weights[i] + network.biases[i]
        np.testing.assert_allclose(z, expected_z, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    for z, a in zip(network.z_values[:-1], network.activations[1:-1], strict=True):
        np.testing.assert_array_equal(a, np.tanh(z))


@pytest.mark.parametrize(
    ("kind", "output"), [("binary", "sigmoid"), ("multiclass", "softmax")], ids=["binary", "multi"]
)
def test_functional_core_equals_the_class_methods(kind: str, output: Any) -> None:
    sizes = [3, 6, 2] if kind == "multiclass" else [3, 6, 1]
    network = make_network(NETWORK_CLASSES[kind], sizes, "sigmoid")
    X, y = make_data(sizes, 9)
    y_hat, cache = forward(network.weights, network.biases, X, "sigmoid", output)
    np.testing.assert_array_equal(y_hat, network.forward(X))
    dW, db = backward(network.weights, cache, y, "sigmoid", output)
    dW_class, db_class = network.backward(X, y)
    for ours, theirs in zip(dW + db, dW_class + db_class, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_functional_core_does_not_mutate_its_arguments() -> None:
    sizes = [3, 6, 4, 1]
    weights, biases = init_parameters(sizes, "relu")
    X, y = make_data(sizes, 5)
    saved = [a.copy() for a in (*weights, *biases, X, y)]
    _, cache = forward(weights, biases, X, "relu", "sigmoid")
    cache_saved = [a.copy() for a in (*cache.activations, *cache.z_values)]
    backward(weights, cache, y, "relu", "sigmoid")
    for array, before in zip((*weights, *biases, X, y), saved, strict=True):
        np.testing.assert_array_equal(array, before)
    for array, before in zip((*cache.activations, *cache.z_values), cache_saved, strict=True):
        np.testing.assert_array_equal(array, before)
    assert isinstance(cache, ForwardCache)


@pytest.mark.parametrize("kind", NETWORK_CLASSES.keys())
def test_backward_before_forward_is_an_error(kind: str) -> None:
    network = NETWORK_CLASSES[kind]([2, 3, 2] if kind == "multiclass" else [2, 3, 1])
    with pytest.raises(RuntimeError, match="forward"):
        network.backward(np.zeros((1, 2)), np.array([[1.0]]) if kind == "binary" else np.array([1]))


# ---------------------------------------------------------------- training


def step_cases() -> list[Any]:
    return [
        pytest.param(kind, activation, id=f"{activation}-{kind}")
        for kind in NETWORK_CLASSES
        for activation in ACTIVATIONS
    ]


@pytest.mark.parametrize(("kind", "activation"), step_cases())
def test_update_parameters_matches_torch_sgd(kind: str, activation: str) -> None:
    sizes = [3, 8, 5, 3] if kind == "multiclass" else [3, 8, 5, 1]
    network = make_network(NETWORK_CLASSES[kind], sizes, activation, lr=0.3)
    X, y = make_data(sizes, 11)
    model = torch_model(network)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    loss, _ = torch_loss(model, X, y, multiclass=kind == "multiclass")
    loss.backward()
    optimizer.step()
    network.forward(X)
    network.update_parameters(*network.backward(X, y))
    assert_parameters_match(network, model)


@pytest.mark.parametrize(("kind", "activation"), step_cases())
def test_fit_matches_torch_sgd_epochs(kind: str, activation: str) -> None:
    epochs = 5
    multiclass = kind == "multiclass"
    sizes = [2, 10, 5, 3] if multiclass else [2, 10, 5, 1]
    network = make_network(NETWORK_CLASSES[kind], sizes, activation, lr=0.5)
    X, y = make_data(sizes, 20)
    model = torch_model(network)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    torch_losses, torch_accuracies = [], []
    for _ in range(epochs):
        loss, probabilities = torch_loss(model, X, y, multiclass)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        torch_losses.append(loss.item())
        if multiclass:
            correct = probabilities.argmax(dim=1) == torch.tensor(y)
        else:
            correct = (probabilities >= 0.5).double() == t64(y)
        torch_accuracies.append(correct.double().mean().item() * 100)
    network.fit(X, y, epochs=epochs, verbose=False)
    np.testing.assert_allclose(
        network.losses, torch_losses, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )
    np.testing.assert_allclose(
        network.accuracies, torch_accuracies, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )
    assert_parameters_match(network, model)


def test_multiclass_fit_with_one_hot_labels_equals_fit_with_ids() -> None:
    sizes = [4, 6, 3]
    X, ids = make_data(sizes, 15)
    with_ids = make_network(MultiClassNeuralNetwork, sizes, "relu")
    with_one_hot = make_network(MultiClassNeuralNetwork, sizes, "relu")
    with_ids.fit(X, ids, epochs=4, verbose=False)
    with_one_hot.fit(X, np.eye(3)[ids], epochs=4, verbose=False)
    assert with_ids.losses == with_one_hot.losses
    assert with_ids.accuracies == with_one_hot.accuracies
    for ours, theirs in zip(with_ids.weights, with_one_hot.weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("kind", NETWORK_CLASSES.keys())
def test_training_does_not_mutate_caller_arrays(kind: str) -> None:
    sizes = [3, 5, 2] if kind == "multiclass" else [3, 5, 1]
    network = make_network(NETWORK_CLASSES[kind], sizes, "relu")
    X, y = make_data(sizes, 6)
    X_before, y_before = X.copy(), y.copy()
    network.forward(X)
    dW, db = network.backward(X, y)
    grads_before = [g.copy() for g in dW + db]
    network.update_parameters(dW, db)
    network.fit(X, y, epochs=3, verbose=False)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    for g, before in zip(dW + db, grads_before, strict=True):
        np.testing.assert_array_equal(g, before)


@pytest.mark.parametrize("kind", NETWORK_CLASSES.keys())
def test_fit_verbose_prints_every_100_epochs_and_the_last(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = [2, 4, 2] if kind == "multiclass" else [2, 4, 1]
    network = make_network(NETWORK_CLASSES[kind], sizes, "relu")
    X, y = make_data(sizes, 5)
    network.fit(X, y, epochs=150, verbose=True)
    expected = [
        f"Epoch {i:4d} | Loss: {network.losses[i]:.4f} | Accuracy: {network.accuracies[i]:.2f}%"
        for i in (0, 100, 149)
    ]
    assert capsys.readouterr().out.splitlines() == expected


# ---------------------------------------------------------------- predictions


def test_binary_predict_thresholds_at_half_inclusive() -> None:
    network = NeuralNetwork([2, 3, 1])
    network.weights = [np.zeros_like(W) for W in network.weights]
    prediction = network.predict(np.ones((4, 2)))
    assert prediction.shape == (4, 1)
    assert np.issubdtype(prediction.dtype, np.integer)
    np.testing.assert_array_equal(prediction, np.ones((4, 1)))


def test_binary_predict_proba_is_forward() -> None:
    sizes = [2, 5, 1]
    network = make_network(NeuralNetwork, sizes, "tanh")
    X, _ = make_data(sizes, 10)
    probabilities = network.predict_proba(X)
    np.testing.assert_array_equal(probabilities, network.forward(X))
    np.testing.assert_array_equal(network.predict(X), (probabilities >= 0.5).astype(int))


def test_multiclass_predict_returns_argmax_class_ids() -> None:
    sizes = [4, 6, 3]
    network = make_network(MultiClassNeuralNetwork, sizes, "relu")
    X, _ = make_data(sizes, 10)
    probabilities = network.predict_proba(X)
    assert probabilities.shape == (10, 3)
    prediction = network.predict(X)
    assert prediction.shape == (10,)
    np.testing.assert_array_equal(prediction, np.argmax(probabilities, axis=1))
