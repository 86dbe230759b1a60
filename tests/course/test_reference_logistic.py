"""reference_impl.LogisticRegression against the lecture and PyTorch autograd (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grader_tests.tolerances import REFERENCE_ATOL, REFERENCE_RTOL
from reference_impl import LogisticRegression

# id -> (m samples, n features)
CASES = {"batch1": (1, 3), "single-feature": (12, 1), "batch20": (20, 4)}


def t64(array: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(array, dtype=torch.float64, requires_grad=requires_grad)


def make_data(m: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = rng.integers(0, 2, size=(m, 1)).astype(float)
    return X, y


def make_model(n: int, lr: float = 0.1, seed: int = 0) -> LogisticRegression:
    """A model with non-trivial parameters (the lecture's init is tiny: randn * 0.01)."""
    model = LogisticRegression(n, lr=lr)
    rng = np.random.default_rng(seed + 1)
    model.W = rng.normal(size=(n, 1))
    model.b = rng.normal(size=(1, 1))
    return model


def torch_linear(model: LogisticRegression) -> torch.nn.Linear:
    linear = torch.nn.Linear(model.W.shape[0], 1, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(t64(model.W.T))
        linear.bias.copy_(t64(model.b.ravel()))
    return linear


def test_init_follows_the_lecture() -> None:
    np.random.seed(7)
    model = LogisticRegression(5, lr=0.3)
    np.random.seed(7)
    np.testing.assert_array_equal(model.W, np.random.randn(5, 1) * 0.01)
    np.testing.assert_array_equal(model.b, np.zeros((1, 1)))
    assert model.lr == 0.3
    assert model.losses == []
    assert model.accuracies == []


def test_default_learning_rate() -> None:
    assert LogisticRegression(2).lr == 0.01


@pytest.mark.parametrize(("m", "n"), CASES.values(), ids=CASES.keys())
def test_forward_matches_torch(m: int, n: int) -> None:
    X, _ = make_data(m, n)
    model = make_model(n)
    with torch.no_grad():
        expected = torch.sigmoid(torch_linear(model)(t64(X))).numpy()
    result = model.forward(X)
    assert result.shape == (m, 1)
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    np.testing.assert_array_equal(model.predict_proba(X), result)


@pytest.mark.parametrize(("m", "n"), CASES.values(), ids=CASES.keys())
def test_loss_matches_torch(m: int, n: int) -> None:
    X, y = make_data(m, n)
    model = make_model(n)
    with torch.no_grad():
        out = torch.sigmoid(torch_linear(model)(t64(X)))
        expected = torch.nn.functional.binary_cross_entropy(out, t64(y)).item()
    result = model.compute_loss(model.forward(X), y)
    np.testing.assert_allclose(result, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


@pytest.mark.parametrize(("m", "n"), CASES.values(), ids=CASES.keys())
def test_gradients_match_autograd(m: int, n: int) -> None:
    X, y = make_data(m, n)
    model = make_model(n)
    linear = torch_linear(model)
    loss = torch.nn.functional.binary_cross_entropy(torch.sigmoid(linear(t64(X))), t64(y))
    loss.backward()
    dW, db = model.backward(X, model.forward(X), y)
    assert dW.shape == model.W.shape
    assert np.shape(db) in {(), (1, 1)}
    assert linear.weight.grad is not None and linear.bias.grad is not None
    np.testing.assert_allclose(
        dW, linear.weight.grad.numpy().T, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )
    np.testing.assert_allclose(
        np.ravel(db), linear.bias.grad.numpy(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )


@pytest.mark.parametrize(("m", "n"), CASES.values(), ids=CASES.keys())
def test_step_matches_torch_sgd(m: int, n: int) -> None:
    X, y = make_data(m, n)
    model = make_model(n, lr=0.3)
    linear = torch_linear(model)
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.3)
    torch.nn.functional.binary_cross_entropy(torch.sigmoid(linear(t64(X))), t64(y)).backward()
    optimizer.step()
    model.step(*model.backward(X, model.forward(X), y))
    np.testing.assert_allclose(
        model.W, linear.weight.detach().numpy().T, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )
    np.testing.assert_allclose(
        model.b.ravel(), linear.bias.detach().numpy(), rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )


@pytest.mark.parametrize(("m", "n"), CASES.values(), ids=CASES.keys())
def test_fit_matches_torch_sgd_epochs(m: int, n: int) -> None:
    epochs = 5
    X, y = make_data(m, n)
    model = make_model(n, lr=0.5)
    linear = torch_linear(model)
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.5)
    torch_losses, torch_accuracies = [], []
    for _ in range(epochs):
        out = torch.sigmoid(linear(t64(X)))
        loss = torch.nn.functional.binary_cross_entropy(out, t64(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        torch_losses.append(loss.item())
        torch_accuracies.append(((out >= 0.5).double() == t64(y)).double().mean().item() * 100)
    model.fit(X, y, epochs=epochs, verbose=False)
    np.testing.assert_allclose(model.losses, torch_losses, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    np.testing.assert_allclose(
        model.accuracies, torch_accuracies, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )
    np.testing.assert_allclose(
        model.W, linear.weight.detach().numpy().T, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL
    )


def test_fit_does_not_mutate_data() -> None:
    X, y = make_data(10, 2)
    X_before, y_before = X.copy(), y.copy()
    make_model(2).fit(X, y, epochs=3, verbose=False)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_backward_and_step_do_not_mutate_arguments() -> None:
    X, y = make_data(10, 2)
    model = make_model(2)
    y_pred = model.forward(X)
    saved = [a.copy() for a in (X, y, y_pred)]
    dW, db = model.backward(X, y_pred, y)
    dW_before, db_before = dW.copy(), np.copy(db)
    model.step(dW, db)
    for array, before in zip((X, y, y_pred, dW, db), (*saved, dW_before, db_before), strict=True):
        np.testing.assert_array_equal(array, before)


@pytest.mark.parametrize(
    ("epochs", "printed_epochs"),
    [(1, [0]), (150, [0, 100, 149]), (201, [0, 100, 200])],
    ids=["one-epoch", "150-epochs", "201-epochs"],
)
def test_fit_verbose_prints_every_100_epochs_and_the_last(
    epochs: int, printed_epochs: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    X, y = make_data(8, 2)
    model = make_model(2)
    model.fit(X, y, epochs=epochs, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    expected = [
        f"Epoch {i:4d} | Loss: {model.losses[i]:.4f} | Accuracy: {model.accuracies[i]:.2f}%"
        for i in printed_epochs
    ]
    assert lines == expected


def test_fit_silent_when_not_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = make_data(8, 2)
    make_model(2).fit(X, y, epochs=120, verbose=False)
    assert capsys.readouterr().out == ""


def test_fit_records_one_loss_and_accuracy_per_epoch_before_the_update() -> None:
    X, y = make_data(8, 2)
    model = make_model(2)
    first_loss = model.compute_loss(model.forward(X), y)
    model.fit(X, y, epochs=4, verbose=False)
    assert len(model.losses) == len(model.accuracies) == 4
    assert model.losses[0] == first_loss


def test_predict_thresholds_at_half_inclusive() -> None:
    model = LogisticRegression(2)
    model.W = np.zeros((2, 1))
    model.b = np.array([[0.0]])
    X = np.ones((3, 2))
    prediction = model.predict(X)
    assert prediction.shape == (3, 1)
    assert np.issubdtype(prediction.dtype, np.integer)
    np.testing.assert_array_equal(prediction, np.ones((3, 1)))
