"""Hidden checks of ``LogisticRegression``: predictions (grade cell ``logreg_predictions``:
``__init__``, ``sigmoid``, ``forward``, ``compute_loss``, ``compute_accuracy``, ``predict``,
``predict_proba``) and training (grade cell ``logreg_training``: ``backward``, ``step``, ``fit``),
against the reference NumPy implementation, an identical ``torch.nn`` model, ``torch.optim.SGD``
and central differences. The checks of ``sigmoid``, ``forward`` and ``backward`` against these
oracles are rows of the table in ``test_oracles.py``, built from the helpers here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from sklearn.datasets import make_moons

import reference_impl as ref
from grader_tests import oracles
from grader_tests.compare import check_close, check_true, shape_of
from grader_tests.tolerances import (
    TRAINING_ATOL,
    TRAINING_RTOL,
)

CLASS = "LogisticRegression"
LEARNING_RATE = 0.1
FIT_EPOCHS = 5
#: (m, n_features) of the hidden inputs.
SHAPES = {"batch1": (1, 3), "single-feature": (8, 1), "lecture": (20, 2), "wide": (6, 5)}
TORCH_SHAPES = {key: SHAPES[key] for key in ("batch1", "lecture")}
GRADIENT_SHAPES = {key: SHAPES[key] for key in ("batch1", "single-feature", "lecture")}
#: Inputs this large overflow ``exp`` in a naive sigmoid; the answer must still be finite.
EXTREME = 1e3
#: The lecture's result: 1000 epochs (lr 0.1) on the moons give 86.7 % train accuracy.
MOONS_BAND = (84.0, 88.0)


@dataclass
class Problem:
    """Hidden inputs of one check: parameters, a batch and its labels."""

    W: np.ndarray
    b: np.ndarray
    X: np.ndarray
    y: np.ndarray

    @property
    def logits(self) -> np.ndarray:
        return self.X @ self.W + self.b

    @property
    def probabilities(self) -> np.ndarray:
        return ref.sigmoid(self.logits)

    @property
    def on(self) -> str:
        return shape_of(self.X)

    def reference_gradients(self) -> tuple[np.ndarray, np.ndarray]:
        model = reference_model(self)
        return model.backward(self.X, self.probabilities, self.y)


def draw_problem(rng: np.random.Generator, shape: tuple[int, int]) -> Problem:
    m, n = shape
    return Problem(
        W=rng.normal(scale=1.5 / np.sqrt(n), size=(n, 1)),
        b=rng.normal(scale=0.5, size=(1, 1)),
        X=rng.normal(size=(m, n)),
        y=rng.integers(0, 2, size=(m, 1)).astype(np.float64),
    )


def shape_cases(shapes: dict[str, tuple[int, int]]) -> list:
    return [pytest.param(shape, id=key) for key, shape in shapes.items()]


def student_model(student, problem: Problem, lr: float = LEARNING_RATE):
    """The student's model holding the problem's parameters (set through the public API)."""
    model = student.new(CLASS, problem.W.shape[0], lr=lr)
    model.set("W", problem.W.copy())
    model.set("b", problem.b.copy())
    return model


#: Evaluated in the student's process: the methods graded in ``logreg_predictions`` replaced by
#: reference versions on one model object, so that the ``fit`` checks judge the training loop,
#: ``backward`` and ``step`` only (a bug in forward is not charged twice).
PREDICTION_PARTS = (
    "(lambda ref: (setattr(model, 'sigmoid', ref.sigmoid), "
    "setattr(model, 'forward', lambda X: ref.sigmoid(X @ model.W + model.b)), "
    "setattr(model, 'predict_proba', lambda X: ref.sigmoid(X @ model.W + model.b)), "
    "setattr(model, 'compute_loss', ref.binary_cross_entropy), "
    "setattr(model, 'compute_accuracy', ref.binary_accuracy)) and None)"
    "(__import__('reference_impl'))"
)


def training_model(student, problem: Problem, lr: float = LEARNING_RATE):
    """:func:`student_model` with the reference forward, loss and accuracy (for ``fit``)."""
    model = student_model(student, problem, lr)
    student.evaluate(PREDICTION_PARTS, "preparing your model for this check", model=model)
    return model


def reference_model(problem: Problem, lr: float = LEARNING_RATE) -> ref.LogisticRegression:
    model = ref.LogisticRegression(problem.W.shape[0], lr=lr)
    model.W, model.b = problem.W.copy(), problem.b.copy()
    return model


def forward_mistakes(problem: Problem) -> dict[str, np.ndarray]:
    z = problem.logits
    return {
        "the sigmoid is missing (X @ W + b returned)": z,
        "the bias b is left out": ref.sigmoid(problem.X @ problem.W),
        "1 / (1 + exp(z)): the sign in the exponent is flipped": ref.sigmoid(-z),
    }


def as_column(value, what: str) -> np.ndarray:
    """A scalar or ``(1, 1)`` result as shape ``(1, 1)``; anything else unchanged."""
    check_true(value is not None, f"{what} returned None (is a `return` missing?)")
    return np.reshape(value, (1, 1)) if np.size(value) == 1 else value


def draw_logits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.normal(scale=3.0, size=shape)


def student_sigmoid(student, z: np.ndarray):
    return student.new(CLASS, 2).call("sigmoid", z)


def torch_sigmoid(z: np.ndarray) -> np.ndarray:
    return torch.sigmoid(oracles.t64(z)).numpy()


def check_sigmoid(got, expected, z: np.ndarray, *, oracle: str, **tolerances) -> None:
    check_close(
        got,
        expected,
        what="sigmoid(z)",
        oracle=oracle,
        on=shape_of(z),
        mistakes={
            "1 / (1 + exp(z)): the sign in the exponent is flipped": ref.sigmoid(-z),
            "exp(-z) / (1 + exp(-z)), which is 1 - sigmoid(z)": 1 - ref.sigmoid(z),
        },
        **tolerances,
    )


def student_forward(student, problem: Problem):
    return student_model(student, problem).call("forward", problem.X)


def reference_forward(problem: Problem) -> np.ndarray:
    return problem.probabilities


def torch_forward(problem: Problem) -> np.ndarray:
    return oracles.torch_forward([problem.W], [problem.b], problem.X, "relu", "sigmoid")


def check_forward(got, expected, problem: Problem, *, oracle: str, **tolerances) -> None:
    check_close(
        got,
        expected,
        what="forward(X)",
        oracle=oracle,
        on=problem.on,
        mistakes=forward_mistakes(problem),
        **tolerances,
    )


# -- logreg_predictions -----------------------------------------------------------------------


@pytest.mark.grade_cell("logreg_predictions")
@pytest.mark.parametrize("n", [1, 2, 5], ids=["single-feature", "lecture", "five-features"])
def test_init_shapes_and_hyperparameters(student, n):
    model = student.new(CLASS, n, lr=0.05)
    check_true(
        np.shape(model.get("W")) == (n, 1),
        f"LogisticRegression({n}).W should have shape ({n}, 1), got {np.shape(model.get('W'))}",
    )
    check_true(
        np.shape(model.get("b")) == (1, 1),
        f"LogisticRegression({n}).b should have shape (1, 1), got {np.shape(model.get('b'))}",
    )
    check_true(model.get("lr") == 0.05, "the learning rate should be stored as `lr`")
    check_true(
        list(model.get("losses")) == [] and list(model.get("accuracies")) == [],
        "`losses` and `accuracies` should start as empty lists",
    )


@pytest.mark.grade_cell("logreg_predictions")
@pytest.mark.weight(2)
def test_sigmoid_extreme_inputs_give_finite_values(student):
    model = student.new(CLASS, 2)
    z = np.array([[-EXTREME], [-20.0], [0.0], [20.0], [EXTREME]])
    check_close(
        model.call("sigmoid", z),
        ref.sigmoid(z),
        what="sigmoid(z)",
        oracle="the reference implementation",
        on=f"inputs as large as ±{EXTREME:g}",
    )


@pytest.mark.grade_cell("logreg_predictions")
def test_forward_saturated_outputs_are_finite(student, rng):
    problem = draw_problem(rng, SHAPES["lecture"])
    problem.W = 1000 * problem.W
    check_close(
        student_model(student, problem).call("forward", problem.X),
        problem.probabilities,
        what="forward(X)",
        oracle="the reference implementation",
        on="weights large enough to saturate the sigmoid",
    )


@pytest.mark.grade_cell("logreg_predictions")
def test_forward_does_not_modify_its_input(student, rng):
    problem = draw_problem(rng, SHAPES["lecture"])
    model = student_model(student, problem)
    after = model.invoke("forward", [problem.X], return_args=True).args_after
    check_true(np.array_equal(after[0][0], problem.X), "forward(X) changed the caller's array X")


@pytest.mark.grade_cell("logreg_predictions")
@pytest.mark.parametrize("m", [1, 12], ids=["batch1", "batch12"])
def test_compute_loss_matches_torch(student, rng, m):
    y_pred = rng.uniform(0.02, 0.98, size=(m, 1))
    y_true = rng.integers(0, 2, size=(m, 1)).astype(float)
    expected = float(torch.nn.BCELoss()(oracles.t64(y_pred), oracles.t64(y_true)))
    check_close(
        student.new(CLASS, 2).call("compute_loss", y_pred, y_true),
        expected,
        what="compute_loss(y_pred, y_true)",
        oracle="torch.nn.BCELoss (mean binary cross-entropy)",
        on=f"{m} predictions",
        mistakes={
            "the sum over samples instead of the mean": m * expected,
            "only the y * log(y_pred) term (the (1 - y) * log(1 - y_pred) term is missing)": float(
                -np.mean(y_true * np.log(y_pred))
            ),
        },
    )


@pytest.mark.grade_cell("logreg_predictions")
def test_compute_loss_clips_certain_predictions(student):
    y_pred = np.array([[0.0], [1.0], [1.0], [0.0]])
    y_true = np.array([[1.0], [0.0], [1.0], [0.0]])
    check_close(
        student.new(CLASS, 2).call("compute_loss", y_pred, y_true),
        ref.binary_cross_entropy(y_pred, y_true),
        what="compute_loss(y_pred, y_true)",
        oracle="the reference implementation (predictions clipped to [1e-7, 1 - 1e-7])",
        on="predictions of exactly 0 and 1 (log(0) must be avoided by clipping)",
    )


@pytest.mark.grade_cell("logreg_predictions")
def test_compute_accuracy_matches_reference(student, rng):
    y_pred = rng.uniform(0, 1, size=(20, 1))
    y_pred[:3] = 0.5  # the threshold counts 0.5 as class 1
    y_true = rng.integers(0, 2, size=(20, 1)).astype(float)
    expected = ref.binary_accuracy(y_pred, y_true)
    check_close(
        student.new(CLASS, 2).call("compute_accuracy", y_pred, y_true),
        expected,
        what="compute_accuracy(y_pred, y_true)",
        oracle="the reference implementation (percent, threshold >= 0.5)",
        on="20 predictions, some exactly 0.5",
        mistakes={
            "a fraction instead of a percentage": expected / 100,
            "the threshold is > 0.5 (0.5 itself must count as class 1)": float(
                np.mean((y_pred > 0.5) == y_true) * 100
            ),
        },
    )


@pytest.mark.grade_cell("logreg_predictions")
@pytest.mark.parametrize("shape", shape_cases(SHAPES))
def test_predict_matches_reference(student, rng, shape):
    problem = draw_problem(rng, shape)
    check_close(
        student_model(student, problem).call("predict", problem.X),
        (problem.probabilities >= 0.5).astype(int),
        what="predict(X)",
        oracle="the reference implementation (0/1 of shape (m, 1))",
        on=problem.on,
        mistakes={"the classes are swapped": (problem.probabilities < 0.5).astype(int)},
    )


@pytest.mark.grade_cell("logreg_predictions")
def test_predict_counts_one_half_as_class_one(student):
    problem = Problem(np.zeros((2, 1)), np.zeros((1, 1)), np.ones((4, 2)), np.ones((4, 1)))
    check_close(
        student_model(student, problem).call("predict", problem.X),
        np.ones((4, 1)),
        what="predict(X)",
        oracle="the API's convention (probability >= 0.5 is class 1)",
        on="outputs of exactly 0.5",
    )


@pytest.mark.grade_cell("logreg_predictions")
@pytest.mark.parametrize("shape", shape_cases(TORCH_SHAPES))
def test_predict_proba_matches_reference(student, rng, shape):
    problem = draw_problem(rng, shape)
    check_close(
        student_model(student, problem).call("predict_proba", problem.X),
        problem.probabilities,
        what="predict_proba(X)",
        oracle="the reference implementation",
        on=problem.on,
        mistakes={
            "predict_proba returns the 0/1 classes": (problem.probabilities >= 0.5).astype(float),
            **forward_mistakes(problem),
        },
    )


# -- logreg_training --------------------------------------------------------------------------


def gradient_mistakes(problem: Problem) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``dW`` and ``db`` as produced by known mistakes."""
    m = len(problem.X)
    p = problem.probabilities
    dZ = p - problem.y
    extra = dZ * p * (1 - p)
    extra_name = (
        "(y_pred - y_true) multiplied by the sigmoid derivative y_pred * (1 - y_pred); "
        "for cross-entropy with a sigmoid, dL/dz is simply y_pred - y_true"
    )
    dW = {
        "the 1/m factor of the mean is missing": problem.X.T @ dZ,
        extra_name: problem.X.T @ extra / m,
    }
    db = {
        "the 1/m factor of the mean is missing": np.sum(dZ, keepdims=True).reshape(1, 1),
        extra_name: np.mean(extra, keepdims=True).reshape(1, 1),
    }
    return dW, db


def check_logistic_gradients(got, expected, problem: Problem, oracle: str, **tolerances) -> None:
    what = "backward(X, y_pred, y_true)"
    check_true(
        isinstance(got, tuple | list) and len(got) == 2,
        f"{what} should return (dW, db); got {type(got).__name__}",
    )
    dW_mistakes, db_mistakes = gradient_mistakes(problem)
    check_close(
        got[0],
        expected[0],
        what=f"dW from {what}",
        oracle=oracle,
        on=problem.on,
        mistakes=dW_mistakes,
        **tolerances,
    )
    check_close(
        as_column(got[1], f"{what} (its db)"),
        np.reshape(expected[1], (1, 1)),
        what=f"db from {what} (a scalar or shape (1, 1))",
        oracle=oracle,
        on=problem.on,
        mistakes=db_mistakes,
        **tolerances,
    )


def student_gradients(student, problem: Problem):
    model = student_model(student, problem)
    return model.call("backward", problem.X, problem.probabilities, problem.y)


def torch_gradients(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    (dW,), (db,) = oracles.torch_gradients(
        [problem.W], [problem.b], problem.X, problem.y, "relu", "sigmoid"
    )
    return dW, db


def central_gradients(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    (dW,), (db,) = oracles.finite_difference_gradients(
        [problem.W], [problem.b], problem.X, problem.y, "relu", "sigmoid"
    )
    return dW, db


@pytest.mark.grade_cell("logreg_training")
def test_backward_does_not_modify_its_arguments_or_parameters(student, rng):
    problem = draw_problem(rng, SHAPES["lecture"])
    model = student_model(student, problem)
    arguments = [problem.X, problem.probabilities, problem.y]
    after = model.invoke("backward", arguments, return_args=True).args_after
    check_true(
        all(np.array_equal(a, b) for a, b in zip(after[0], arguments, strict=True)),
        "backward(X, y_pred, y_true) changed the caller's X, y_pred or y_true",
    )
    check_true(
        np.array_equal(model.get("W"), problem.W) and np.array_equal(model.get("b"), problem.b),
        "backward should only compute gradients; it changed W or b (that is step's job)",
    )


@pytest.mark.grade_cell("logreg_training")
@pytest.mark.parametrize("db_kind", ["matrix", "scalar"])
def test_step_matches_torch_sgd(student, rng, db_kind):
    problem = draw_problem(rng, SHAPES["lecture"])
    model = student_model(student, problem)
    (dW,), (db,) = oracles.torch_gradients(
        [problem.W], [problem.b], problem.X, problem.y, "relu", "sigmoid"
    )
    model.call("step", dW, db if db_kind == "matrix" else float(db[0, 0]))
    (expected_W,), (expected_b,) = oracles.torch_sgd(
        [problem.W],
        [problem.b],
        problem.X,
        problem.y,
        activation="relu",
        output="sigmoid",
        lr=LEARNING_RATE,
        steps=1,
    )
    db_text = "db of shape (1, 1)" if db_kind == "matrix" else "db a Python float"
    for name, got, expected, before, grad in [
        ("W", model.get("W"), expected_W, problem.W, dW),
        ("b", model.get("b"), expected_b, problem.b, db),
    ]:
        check_close(
            got,
            expected,
            what=f"{name} after step(dW, db)",
            oracle="one torch.optim.SGD step",
            on=f"{problem.on}, lr={LEARNING_RATE}, {db_text}",
            mistakes={
                f"{name} is not updated": before,
                "the gradient is added instead of subtracted": before + LEARNING_RATE * grad,
                "the learning rate is not used": before - grad,
            },
        )


@pytest.mark.grade_cell("logreg_training")
@pytest.mark.weight(2)
@pytest.mark.parametrize("shape", shape_cases(GRADIENT_SHAPES))
def test_fit_matches_torch_sgd(student, rng, shape):
    problem = draw_problem(rng, shape)
    model = training_model(student, problem)
    model.call("fit", problem.X, problem.y, epochs=FIT_EPOCHS, verbose=False)
    (expected_W,), (expected_b,) = oracles.torch_sgd(
        [problem.W],
        [problem.b],
        problem.X,
        problem.y,
        activation="relu",
        output="sigmoid",
        lr=LEARNING_RATE,
        steps=FIT_EPOCHS,
    )
    for name, expected in [("W", expected_W), ("b", expected_b)]:
        check_close(
            model.get(name),
            expected,
            what=f"{name} after fit(X, y, epochs={FIT_EPOCHS})",
            oracle=f"{FIT_EPOCHS} torch.optim.SGD steps",
            on=f"{problem.on}, lr={LEARNING_RATE}",
            rtol=TRAINING_RTOL,
            atol=TRAINING_ATOL,
        )


@pytest.mark.grade_cell("logreg_training")
def test_fit_records_loss_and_accuracy_before_each_update(student, rng):
    problem = draw_problem(rng, SHAPES["lecture"])
    model = training_model(student, problem)
    model.call("fit", problem.X, problem.y, epochs=FIT_EPOCHS, verbose=False)
    reference = reference_model(problem)
    reference.fit(problem.X, problem.y, epochs=FIT_EPOCHS, verbose=False)
    for name in ("losses", "accuracies"):
        got = model.get(name)
        check_true(
            np.size(got) == FIT_EPOCHS,
            f"after fit(..., epochs={FIT_EPOCHS}) `{name}` should hold {FIT_EPOCHS} values, "
            f"got {np.size(got)}",
        )
        check_close(
            np.ravel(np.asarray(got, dtype=float)),
            getattr(reference, name),
            what=f"`{name}` recorded by fit",
            oracle="the reference implementation (one value per epoch, before that epoch's update)",
            on=problem.on,
            rtol=TRAINING_RTOL,
            atol=TRAINING_ATOL,
            mistakes={
                "values recorded after the update instead of before": [
                    *getattr(reference, name)[1:],
                    np.nan,
                ]
            },
        )


@pytest.mark.grade_cell("logreg_training")
def test_fit_does_not_modify_the_data(student, rng):
    problem = draw_problem(rng, SHAPES["lecture"])
    model = training_model(student, problem)
    after = model.invoke(
        "fit", [problem.X, problem.y], {"epochs": 2, "verbose": False}, return_args=True
    ).args_after
    check_true(
        np.array_equal(after[0][0], problem.X) and np.array_equal(after[0][1], problem.y),
        "fit(X, y) changed the caller's X or y",
    )


@pytest.mark.grade_cell("logreg_training")
@pytest.mark.weight(2)
def test_reaches_the_lecture_accuracy_on_moons(student):
    X, y = make_moons(n_samples=300, noise=0.1, random_state=42)
    y = y.reshape(-1, 1).astype(float)
    np.random.seed(42)
    start = ref.LogisticRegression(2, lr=0.1)  # the lecture's initial weights
    problem = Problem(start.W, start.b, X, y)
    model = training_model(student, problem, lr=0.1)
    model.invoke("fit", [X, y], {"epochs": 1000, "verbose": False}, timeout=60)
    accuracy = float(ref.binary_accuracy(ref.sigmoid(X @ model.get("W") + model.get("b")), y))
    low, high = MOONS_BAND
    check_true(
        low <= accuracy <= high,
        f"LogisticRegression(2, lr=0.1) trained 1000 epochs on the moons reaches {accuracy:.1f} % "
        f"train accuracy; the lecture reaches about 86.7 % (expected {low:g} to {high:g} %; "
        "this check uses the reference forward and loss, so it judges fit, backward and step)",
    )
