"""Hidden checks of ``MultiClassNeuralNetwork`` (grade cells ``mc_init``, ``mc_softmax_loss``,
``mc_backward``, ``mc_training``): the initialisation as in ``NeuralNetwork``, the softmax
output, the categorical cross-entropy and the accuracy with labels as class ids and as one-hot
rows, back-propagation (reference, autograd, central differences) and training
(``torch.optim.SGD``, the lecture's Iris result). ``softmax``, ``forward`` and ``backward``
against the reference, PyTorch and central differences are rows of the table in
``test_oracles.py``, built from the helpers here. Every check runs the student's class with the
reference activation functions, so a bug in notebook 1 is not charged again here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import reference_impl as ref
from grader_tests import oracles
from grader_tests.compare import check_close, check_true, fail, shape_of
from grader_tests.networks import (
    HIDDEN_ACTIVATIONS,
    MULTICLASS,
    Problem,
    case_table,
    cases,
    check_fit_matches_sgd,
    check_gradients,
    check_init_hyperparameters,
    check_init_scale,
    check_init_shapes,
    check_update_step,
    describe,
    draw_problem,
    student_network,
)
from grader_tests.tolerances import (
    TRAINING_ATOL,
    TRAINING_RTOL,
)

CLASS = "MultiClassNeuralNetwork"
LABELS = ("ids", "one-hot")
LEARNING_RATE = 0.1
FIT_EPOCHS = 5
#: Logits of shape (m, K) for the softmax checks ("square" catches a missing keepdims=True).
SOFTMAX_SHAPES = {
    "batch1": (1, 3),
    "two-classes": (6, 2),
    "square": (4, 4),
    "iris": (16, 3),
    "ten-classes": (5, 10),
}
TORCH_SOFTMAX_SHAPES = {key: SOFTMAX_SHAPES[key] for key in ("batch1", "iris")}
#: Logits this large overflow ``exp`` unless each row's maximum is subtracted first.
EXTREME = 1e3
#: The lecture's result: [4, 10, 8, 3], relu, lr 0.01, 2000 epochs reach 91.1 % test accuracy.
IRIS_THRESHOLD = 90.0
#: The check trains a quarter of the lecture's epochs: the reference's test accuracy is 91.1 % from
#: epoch 425 to 725 (and from 1100 to 2000; 88.9 % in between), so 500 is as safe as 2000.
IRIS_EPOCHS = 500


def labelled_case_table(architectures, keys=None) -> dict[str, tuple[str, Any, str]]:
    """``(activation, architecture, labels)`` by id such as ``tanh-batch1-one-hot``."""
    return {
        f"{key}-{labels}": (*case, labels)
        for key, case in case_table(architectures, keys).items()
        for labels in LABELS
    }


def problem_for(rng, activation, arch, labels: str = "ids") -> Problem:
    return draw_problem(rng, arch, activation, "softmax", labels)


def draw_multiclass(rng, case: tuple) -> Problem:
    """A problem for a case of :func:`case_table` or :func:`labelled_case_table`."""
    return problem_for(rng, *case)


def network(student, lr: float = LEARNING_RATE):
    return student.new(CLASS, [4, 5, 3], activation="relu", learning_rate=lr)


#: Evaluated in the student's process: methods graded in another cell replaced by reference
#: versions on one network object, so that a bug there is not charged again (``{output}`` and
#: ``{activation}`` filled in). ``softmax`` is graded in ``mc_softmax_loss``; ``FIT_PARTS``
#: also replaces ``forward``/``backward`` (``mc_backward``) and the loss and accuracy, so that the
#: ``fit`` checks judge the training loop and ``update_parameters`` only.
SOFTMAX_PART = "setattr(network, 'softmax', __import__('reference_impl').softmax)"
FIT_PARTS = (
    "(lambda ref, cache: (setattr(network, 'softmax', ref.softmax), "
    "setattr(network, 'forward', lambda X: (cache.__setitem__('last', ref.forward("
    "network.weights, network.biases, X, {activation!r}, 'softmax')), cache['last'][0])[1]), "
    "setattr(network, 'backward', lambda X, y_true: ref.backward("
    "network.weights, cache['last'][1], y_true, {activation!r}, 'softmax')), "
    "setattr(network, 'compute_loss', ref.categorical_cross_entropy), "
    "setattr(network, 'compute_accuracy', ref.categorical_accuracy)) and None)"
    "(__import__('reference_impl'), {{}})"
)


def mc_network(student, problem: Problem, lr: float = LEARNING_RATE, *, fit_only: bool = False):
    """The student's network with the problem's parameters and the reference ``softmax`` (with
    ``fit_only``: also the reference forward, backward, loss and accuracy)."""
    net = student_network(student, CLASS, problem, lr=lr)
    patch = FIT_PARTS.format(activation=problem.activation) if fit_only else SOFTMAX_PART
    student.evaluate(patch, "preparing your network for this check", network=net)
    return net


# -- mc_softmax_loss: softmax -----------------------------------------------------------------


def with_nan(function, z: np.ndarray) -> np.ndarray:
    """A mistaken formula's output, NaN and all (for naming the mistake)."""
    with np.errstate(all="ignore"):
        return function(z)


def softmax_mistakes(z: np.ndarray) -> dict[str, np.ndarray]:
    """Outputs of known softmax mistakes, with and without the row maximum subtracted first."""
    wrong_axis = "normalised over the wrong axis: each column sums to 1 instead of each row"
    no_keepdims = "the row sums are divided without keepdims=True (they broadcast along rows)"
    mistakes: dict[str, np.ndarray] = {}
    for shifted, e in [
        ("", with_nan(np.exp, z)),
        (" (after subtracting the row maximum)", np.exp(z - z.max(axis=1, keepdims=True))),
    ]:
        mistakes[wrong_axis + shifted] = e / np.sum(e, axis=0, keepdims=True)
        mistakes["exp(z) is not divided by the row sums" + shifted] = e
        if z.shape[0] == z.shape[1]:
            mistakes[no_keepdims + shifted] = e / np.sum(e, axis=1)
    return mistakes


def unstable_mistakes(z: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "no maximum subtracted, so exp overflows to inf (large logits) or every term "
        "underflows to 0 (very negative logits): subtract each row's maximum "
        "(np.max(z, axis=1, keepdims=True)) before np.exp": with_nan(
            lambda v: np.exp(v) / np.sum(np.exp(v), axis=1, keepdims=True), z
        ),
        "the maximum of the whole array is subtracted: subtract each row's own maximum "
        "(np.max(z, axis=1, keepdims=True))": with_nan(
            lambda v: np.exp(v - v.max()) / np.sum(np.exp(v - v.max()), axis=1, keepdims=True), z
        ),
    }


def draw_logits(rng, shape: tuple[int, int]) -> np.ndarray:
    return rng.normal(scale=3.0, size=shape)


def student_softmax(student, z: np.ndarray):
    return network(student).call("softmax", z)


def torch_softmax(z: np.ndarray) -> np.ndarray:
    return torch.softmax(oracles.t64(z), dim=1).numpy()


def check_softmax(got, expected, z: np.ndarray, *, oracle: str, **tolerances) -> None:
    check_close(
        got,
        expected,
        what="softmax(z)",
        oracle=oracle,
        on=shape_of(z),
        mistakes=softmax_mistakes(z),
        **tolerances,
    )


# -- mc_init ----------------------------------------------------------------------------------

#: Weights of this many samples per layer make the sample variance accurate to about 0.5 %.
INIT_SIZES = [400, 300, 200]


@pytest.mark.grade_cell("mc_init")
@pytest.mark.parametrize(
    "sizes", [[4, 10, 8, 3], [1, 2], [3, 5, 4]], ids=["lecture", "no-hidden", "one-hidden"]
)
def test_init_shapes_and_zero_biases(student, sizes):
    check_init_shapes(student, CLASS, sizes)


@pytest.mark.grade_cell("mc_init")
def test_init_keeps_hyperparameters_and_empty_history(student):
    check_init_hyperparameters(student, CLASS, [2, 3, 3])


@pytest.mark.grade_cell("mc_init")
@pytest.mark.weight(2)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_init_scale(student, activation):
    check_init_scale(student, CLASS, INIT_SIZES, activation)


@pytest.mark.grade_cell("mc_softmax_loss")
def test_softmax_rows_sum_to_one(student, rng):
    z = rng.normal(scale=5.0, size=(7, 3))
    got = np.asarray(network(student).call("softmax", z), dtype=float)
    check_true(got.shape == z.shape, f"softmax(z) should keep the shape {z.shape}, got {got.shape}")
    columns = np.allclose(got.sum(axis=0), 1.0)
    check_true(
        np.allclose(got.sum(axis=1), 1.0) and (got >= 0).all(),
        "the rows of softmax(z) should be probabilities that sum to 1 (one row per sample)"
        + ("; yours sum to 1 down each column: normalise over axis=1" if columns else ""),
    )


@pytest.mark.grade_cell("mc_softmax_loss")
@pytest.mark.weight(2)
@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([[EXTREME, 0.0, -EXTREME], [2.0, EXTREME, 1.0]], id="large-positive"),
        pytest.param(
            [[-EXTREME, -EXTREME - 1, -EXTREME - 2], [-EXTREME, 0.0, 1.0]], id="large-negative"
        ),
        pytest.param(
            [[EXTREME, EXTREME - 1, EXTREME - 2], [-EXTREME, -EXTREME + 1, -EXTREME + 2]],
            id="rows-far-apart",
        ),
    ],
)
def test_softmax_extreme_logits_give_finite_values(student, rows):
    z = np.array(rows)
    got = np.asarray(network(student).call("softmax", z), dtype=float)
    on = f"logits as large as ±{EXTREME:g}"
    if got.shape == z.shape and not np.isfinite(got).all():
        named = next(
            (
                name
                for name, output in unstable_mistakes(z).items()
                if np.allclose(got, output, equal_nan=True)
            ),
            "use a numerically stable formula: subtract each row's maximum before np.exp",
        )
        fail(
            f"softmax(z) compared with the reference implementation on {on}: got NaN or infinity",
            mistake=named,
        )
    check_close(
        got, ref.softmax(z), what="softmax(z)", oracle="the reference implementation", on=on
    )


@pytest.mark.grade_cell("mc_softmax_loss")
def test_softmax_does_not_modify_its_input(student, rng):
    z = rng.normal(scale=3.0, size=(5, 3))
    after = network(student).invoke("softmax", [z], return_args=True).args_after
    check_true(
        np.array_equal(after[0][0], z),
        "softmax(z) changed the caller's array z (e.g. z -= z.max(...) works in place): "
        "write z = z - ... or use a new name",
    )


# -- mc_softmax_loss: forward ----------------------------------------------------------------


def forward_mistakes(problem: Problem) -> dict[str, np.ndarray]:
    def output(biases: list[np.ndarray], kind: str = "softmax") -> np.ndarray:
        return ref.forward(problem.weights, biases, problem.X, problem.activation, kind)[0]  # type: ignore[arg-type]

    zero_output_bias = [*problem.biases[:-1], np.zeros_like(problem.biases[-1])]
    zero_hidden_biases = [np.zeros_like(b) for b in problem.biases[:-1]] + [problem.biases[-1]]
    mistakes = {
        "the output layer uses a sigmoid instead of the softmax": output(problem.biases, "sigmoid"),
        "the output layer's bias is left out": output(zero_output_bias),
    }
    if len(problem.biases) > 1:
        mistakes["the hidden layers' biases are left out"] = output(zero_hidden_biases)
    return mistakes


def student_forward(student, problem: Problem):
    return student_network(student, CLASS, problem).call("forward", problem.X)


def check_forward(got, expected, problem: Problem, *, oracle: str, **tolerances) -> None:
    check_close(
        got,
        expected,
        what="forward(X)",
        oracle=oracle,
        on=describe(problem),
        mistakes=forward_mistakes(problem),
        **tolerances,
    )


@pytest.mark.grade_cell("mc_softmax_loss")
def test_forward_large_logits_give_finite_values(student, rng):
    problem = problem_for(rng, "tanh", MULTICLASS[2])
    problem.weights = [100 * W for W in problem.weights]
    expected, _ = problem.reference_forward()
    check_close(
        student_network(student, CLASS, problem).call("forward", problem.X),
        expected,
        what="forward(X)",
        oracle="the reference implementation",
        on="weights large enough to give logits in the hundreds",
    )


# -- mc_softmax_loss: loss and accuracy -------------------------------------------------------


def labels_for(rng, m: int, k: int, labels: str) -> np.ndarray:
    ids = rng.integers(0, k, size=m)
    return ref.one_hot(ids, k) if labels == "one-hot" else ids


@pytest.mark.grade_cell("mc_softmax_loss")
@pytest.mark.parametrize(
    ("m", "labels"),
    [pytest.param(m, labels, id=f"batch{m}-{labels}") for m in (1, 12) for labels in LABELS],
)
def test_compute_loss_matches_torch(student, rng, m, labels):
    k = 3
    y_pred = ref.softmax(rng.normal(scale=2.0, size=(m, k)))
    y_true = labels_for(rng, m, k, labels)
    target = oracles.t64(y_true) if labels == "one-hot" else torch.tensor(y_true)
    expected = float(torch.nn.CrossEntropyLoss()(torch.log(oracles.t64(y_pred)), target))
    check_close(
        network(student).call("compute_loss", y_pred, y_true),
        expected,
        what="compute_loss(y_pred, y_true)",
        oracle="torch.nn.CrossEntropyLoss on log(y_pred), i.e. -mean(log y_pred[true class])",
        on=f"{m} predictions over {k} classes, labels as {labels}",
        mistakes={
            "the sum over samples instead of the mean": m * expected,
            "np.mean over all m * K entries instead of the sum over classes, mean over samples": (
                expected / k
            ),
        },
    )


@pytest.mark.grade_cell("mc_softmax_loss")
@pytest.mark.parametrize("labels", LABELS)
def test_compute_loss_clips_certain_predictions(student, labels):
    y_pred = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    ids = np.array([1, 1, 0])
    y_true = ref.one_hot(ids, 3) if labels == "one-hot" else ids
    check_close(
        network(student).call("compute_loss", y_pred, y_true),
        ref.categorical_cross_entropy(y_pred, y_true),
        what="compute_loss(y_pred, y_true)",
        oracle="the reference implementation (predictions clipped to [1e-7, 1 - 1e-7])",
        on=f"predictions of exactly 0 and 1, labels as {labels} (log(0) must be avoided)",
    )


@pytest.mark.grade_cell("mc_softmax_loss")
@pytest.mark.parametrize("labels", LABELS)
def test_compute_accuracy_matches_reference(student, rng, labels):
    y_pred = ref.softmax(rng.normal(scale=2.0, size=(20, 3)))
    y_true = labels_for(rng, 20, 3, labels)
    expected = ref.categorical_accuracy(y_pred, y_true)
    check_close(
        network(student).call("compute_accuracy", y_pred, y_true),
        expected,
        what="compute_accuracy(y_pred, y_true)",
        oracle="the reference implementation (percent of rows whose arg-max is the label)",
        on=f"20 predictions over 3 classes, labels as {labels}",
        mistakes={"a fraction instead of a percentage": expected / 100},
    )


# -- mc_backward ------------------------------------------------------------------------------


def student_gradients(student, problem: Problem):
    net = mc_network(student, problem)
    net.call("forward", problem.X)
    return net.call("backward", problem.X, problem.y)


@pytest.mark.grade_cell("mc_backward")
def test_backward_uses_the_latest_forward(student, rng):
    first, problem = (
        problem_for(rng, "tanh", MULTICLASS[2]),
        problem_for(rng, "tanh", MULTICLASS[2]),
    )
    problem.weights, problem.biases = first.weights, first.biases
    net = mc_network(student, problem)
    net.call("forward", first.X)
    net.call("forward", problem.X)
    check_gradients(
        net.call("backward", problem.X, problem.y),
        problem.reference_gradients(),
        problem,
        "the reference implementation (after two forward passes, the second one counts)",
    )


@pytest.mark.grade_cell("mc_backward")
@pytest.mark.parametrize("labels", LABELS)
def test_backward_does_not_modify_its_arguments_or_weights(student, rng, labels):
    problem = problem_for(rng, "relu", MULTICLASS[2], labels)
    net = mc_network(student, problem)
    net.call("forward", problem.X)
    after = net.invoke("backward", [problem.X, problem.y], return_args=True).args_after
    check_true(
        np.array_equal(after[0][0], problem.X) and np.array_equal(after[0][1], problem.y),
        f"backward(X, y_true) changed the caller's X or y_true (labels as {labels})",
    )
    check_true(
        all(
            np.array_equal(W, V) for W, V in zip(net.get("weights"), problem.weights, strict=False)
        ),
        "backward should only compute gradients; it changed the weights",
    )


# -- mc_training ------------------------------------------------------------------------------


@pytest.mark.grade_cell("mc_training")
@pytest.mark.parametrize(("activation", "arch"), cases(MULTICLASS, keys=("batch1", "two-hidden")))
def test_update_matches_torch_sgd_step(student, rng, activation, arch):
    problem = problem_for(rng, activation, arch)
    net = mc_network(student, problem)
    check_update_step(net, problem, LEARNING_RATE)


@pytest.mark.grade_cell("mc_training")
@pytest.mark.weight(2)
@pytest.mark.parametrize(
    ("activation", "labels"),
    [pytest.param(a, labels, id=f"{a}-{labels}") for a in HIDDEN_ACTIVATIONS for labels in LABELS],
)
def test_fit_matches_torch_sgd(student, rng, activation, labels):
    problem = problem_for(rng, activation, MULTICLASS[2], labels)
    net = mc_network(student, problem, fit_only=True)
    check_fit_matches_sgd(
        net,
        problem,
        lr=LEARNING_RATE,
        epochs=FIT_EPOCHS,
        oracle=f"{FIT_EPOCHS} torch.optim.SGD steps on nn.CrossEntropyLoss",
    )


@pytest.mark.grade_cell("mc_training")
@pytest.mark.parametrize("labels", LABELS)
def test_fit_records_loss_and_accuracy_before_each_update(student, rng, labels):
    problem = problem_for(rng, "relu", MULTICLASS[2], labels)
    net = mc_network(student, problem, fit_only=True)
    net.call("fit", problem.X, problem.y, epochs=FIT_EPOCHS, verbose=False)
    reference = ref.MultiClassNeuralNetwork(problem.sizes, "relu", LEARNING_RATE)
    reference.weights = [W.copy() for W in problem.weights]
    reference.biases = [b.copy() for b in problem.biases]
    reference.fit(problem.X, problem.y, epochs=FIT_EPOCHS, verbose=False)
    for name in ("losses", "accuracies"):
        got = net.get(name)
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
            on=describe(problem),
            rtol=TRAINING_RTOL,
            atol=TRAINING_ATOL,
            mistakes={
                "values recorded after the update instead of before": [
                    *getattr(reference, name)[1:],
                    np.nan,
                ]
            },
        )


@pytest.mark.grade_cell("mc_training")
@pytest.mark.parametrize(("activation", "arch"), cases(MULTICLASS, keys=("batch1", "two-hidden")))
def test_predict_returns_class_ids(student, rng, activation, arch):
    """predict = arg-max of the student's own forward (forward is graded in mc_softmax_loss)."""
    problem = problem_for(rng, activation, arch)
    net = mc_network(student, problem)
    probabilities = np.asarray(net.call("forward", problem.X), dtype=float)
    got = np.asarray(net.call("predict", problem.X))
    m, k = problem.m, problem.sizes[-1]
    hint = ""
    if got.shape == (m, 1):
        hint = " (a column: flatten it, np.argmax(..., axis=1) already returns shape (m,))"
    elif got.shape == (m, k):
        hint = " (one row per sample: return the class ids, np.argmax(probabilities, axis=1))"
    check_true(
        got.shape == (m,),
        f"predict(X) should return one class id per sample, shape ({m},); got {got.shape}{hint}",
    )
    check_close(
        got,
        np.argmax(probabilities, axis=1),
        what="predict(X)",
        oracle="the arg-max class of every row of your own forward(X)",
        on=describe(problem),
        mistakes={
            "the arg-min is returned instead of the arg-max": np.argmin(probabilities, axis=1)
        },
    )


@pytest.mark.grade_cell("mc_training")
@pytest.mark.parametrize(("activation", "arch"), cases(MULTICLASS, keys=("batch1", "two-hidden")))
def test_predict_proba_matches_forward(student, rng, activation, arch):
    """predict_proba = the student's own forward (forward is graded in mc_softmax_loss)."""
    problem = problem_for(rng, activation, arch)
    net = mc_network(student, problem)
    expected = net.call("forward", problem.X)
    check_close(
        net.call("predict_proba", problem.X),
        expected,
        what="predict_proba(X)",
        oracle="your own forward(X)",
        on=describe(problem),
        mistakes={"predict_proba returns the class ids": np.argmax(expected, axis=1)},
    )


@pytest.mark.grade_cell("mc_training")
@pytest.mark.weight(3)
def test_reaches_the_lecture_accuracy_on_iris(student):
    iris = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.3, random_state=42, stratify=iris.target
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    sizes = [4, 10, 8, 3]
    np.random.seed(42)
    weights, biases = ref.init_parameters(sizes, "relu")
    problem = Problem("relu", "softmax", weights, biases, X_train, y_train)
    net = mc_network(student, problem, lr=0.01, fit_only=True)
    net.invoke("fit", [X_train, y_train], {"epochs": IRIS_EPOCHS, "verbose": False}, timeout=120)
    trained, _ = ref.forward(net.get("weights"), net.get("biases"), X_test, "relu", "softmax")
    accuracy = float(ref.categorical_accuracy(trained, y_test))
    check_true(
        accuracy >= IRIS_THRESHOLD,
        f"MultiClassNeuralNetwork({sizes}, 'relu', 0.01) trained {IRIS_EPOCHS} epochs on the "
        f"scaled Iris training set reaches {accuracy:.1f} % test accuracy; at least "
        f"{IRIS_THRESHOLD:g} % expected, as in the lecture (this check uses the reference "
        "forward, backward and loss, so it judges fit and update_parameters)",
    )
