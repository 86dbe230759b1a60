"""Hidden checks of the practice exercises of notebook 3: ``run_experiment`` (grade cell
``experiments``), ``NeuralNetworkL2`` (grade cell ``l2_regularisation``) and ``snapshot_weights``
(grade cell ``weight_snapshot``). ``NeuralNetwork`` and the activations are the reference
versions in every check, so the results are deterministic and a bug in notebook 2 is not charged
again here. ``NeuralNetworkL2.backward`` against the reference, autograd and central differences
is a row of the table in ``test_oracles.py``, built from the helpers here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

import reference_impl as ref
from grader_tests import oracles
from grader_tests.compare import check_close, check_true, shape_of
from grader_tests.networks import (
    BINARY,
    HIDDEN_ACTIVATIONS,
    Problem,
    cases,
    check_gradients,
    describe,
    draw_problem,
    student_network,
    unpack_gradients,
)
from grader_tests.tolerances import (
    FINITE_DIFFERENCE_STEP,
    TRAINING_ATOL,
    TRAINING_RTOL,
)

# -- experiments ------------------------------------------------------------------------------

FUNCTION = "run_experiment"
RESULT_KEYS = ("final_loss", "final_accuracy", "losses")


@dataclass(frozen=True)
class Experiment:
    key: str
    m: int
    sizes: tuple[int, ...]
    activation: str
    learning_rate: float
    epochs: int
    seed: int


EXPERIMENTS = (
    Experiment("relu", 40, (2, 8, 1), "relu", 0.1, 25, 0),
    Experiment("tanh-two-hidden", 40, (2, 10, 5, 1), "tanh", 0.5, 20, 3),
    Experiment("sigmoid-large-lr", 30, (2, 6, 1), "sigmoid", 1.0, 15, 7),
    Experiment("single-feature", 20, (1, 4, 1), "relu", 0.2, 10, 1),
    Experiment("batch1", 1, (3, 4, 1), "tanh", 0.1, 5, 11),
)


def experiment_data(rng, experiment: Experiment) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(experiment.m, experiment.sizes[0]))
    y = X.sum(axis=1, keepdims=True) + 0.3 * rng.normal(size=(experiment.m, 1)) > 0
    return X, y.astype(np.float64)


def arguments(experiment: Experiment, **changes: Any) -> dict[str, Any]:
    values = {
        "layer_sizes": list(experiment.sizes),
        "activation": experiment.activation,
        "learning_rate": experiment.learning_rate,
        "epochs": experiment.epochs,
        "seed": experiment.seed,
    }
    return values | changes


def experiment_text(experiment: Experiment, **changes: Any) -> str:
    shown = ", ".join(f"{key}={value!r}" for key, value in arguments(experiment, **changes).items())
    return f"{FUNCTION}(X, y, {shown})"


def student_result(student, X, y, **kwargs: Any) -> dict[str, Any]:
    result = student.call(FUNCTION, X, y, **kwargs)
    check_true(
        isinstance(result, dict),
        f"{FUNCTION} should return a dict with the keys {list(RESULT_KEYS)}; "
        f"got {type(result).__name__}",
    )
    missing = [key for key in RESULT_KEYS if key not in result]
    check_true(not missing, f"the dict returned by {FUNCTION} has no key(s) {missing}")
    return result


def experiment_cases() -> list[Any]:
    return [pytest.param(experiment, id=experiment.key) for experiment in EXPERIMENTS]


@pytest.mark.grade_cell("experiments")
def test_experiment_returns_the_documented_dict(student, rng):
    experiment = EXPERIMENTS[0]
    X, y = experiment_data(rng, experiment)
    result = student_result(student, X, y, **arguments(experiment))
    check_true(
        np.ndim(result["final_loss"]) == 0 and np.ndim(result["final_accuracy"]) == 0,
        "final_loss and final_accuracy should be single numbers (the last recorded values)",
    )
    check_true(
        isinstance(result["losses"], list | tuple | np.ndarray),
        f"losses should be a list of numbers, got {type(result['losses']).__name__}",
    )


@pytest.mark.grade_cell("experiments")
@pytest.mark.weight(2)
@pytest.mark.parametrize("experiment", experiment_cases())
def test_experiment_matches_reference(student, rng, experiment):
    X, y = experiment_data(rng, experiment)
    kwargs = arguments(experiment)
    result = student_result(student, X, y, **kwargs)
    expected = ref.run_experiment(X, y, **kwargs)
    losses = np.asarray(expected["losses"])
    on = f"{shape_of(X)}: {experiment_text(experiment)}"
    oracle = "the reference run_experiment (same seed, same NeuralNetwork)"
    check_true(
        np.size(result["losses"]) == experiment.epochs,
        f"losses should hold one value per epoch ({experiment.epochs}); "
        f"got {np.size(result['losses'])} for {experiment_text(experiment)}",
    )
    if not np.allclose(np.ravel(np.asarray(result["losses"], dtype=float)), losses):
        again = student_result(student, X, y, **kwargs)
        check_true(
            np.array_equal(np.asarray(again["losses"]), np.asarray(result["losses"])),
            f"losses of {experiment_text(experiment)} differ from {oracle}, and two calls with "
            "the same seed gave different losses",
            mistake="np.random.seed(seed) is not called before the NeuralNetwork is built",
        )
    ignored = {
        "learning_rate": ref.run_experiment(X, y, **(kwargs | {"learning_rate": 0.01})),
        "activation": ref.run_experiment(X, y, **(kwargs | {"activation": "relu"})),
    }
    check_close(
        np.ravel(np.asarray(result["losses"], dtype=float)),
        losses,
        what="losses",
        oracle=oracle,
        on=on,
        rtol=TRAINING_RTOL,
        atol=TRAINING_ATOL,
        mistakes={
            f"the {name} argument is not passed on to NeuralNetwork": other["losses"]
            for name, other in ignored.items()
            if name != experiment.activation and not np.allclose(other["losses"], losses)
        },
    )
    check_close(
        result["final_loss"],
        expected["final_loss"],
        what="final_loss",
        oracle=oracle,
        on=on,
        rtol=TRAINING_RTOL,
        atol=TRAINING_ATOL,
        mistakes={"the first loss instead of the last": losses[0]},
    )
    check_close(
        result["final_accuracy"],
        expected["final_accuracy"],
        what="final_accuracy",
        oracle=oracle,
        on=on,
        rtol=TRAINING_RTOL,
        atol=TRAINING_ATOL,
        mistakes={"a fraction instead of a percentage": expected["final_accuracy"] / 100},
    )


@pytest.mark.grade_cell("experiments")
def test_experiment_same_seed_gives_the_same_result(student, rng):
    experiment = EXPERIMENTS[1]
    X, y = experiment_data(rng, experiment)
    first = student_result(student, X, y, **arguments(experiment))
    second = student_result(student, X, y, **arguments(experiment))
    check_true(
        np.array_equal(np.asarray(first["losses"]), np.asarray(second["losses"])),
        f"two calls of {experiment_text(experiment)} gave different losses: call "
        "np.random.seed(seed) before building the NeuralNetwork",
    )


@pytest.mark.grade_cell("experiments")
def test_experiment_different_seeds_give_different_results(student, rng):
    experiment = EXPERIMENTS[1]
    X, y = experiment_data(rng, experiment)
    first = student_result(student, X, y, **arguments(experiment, seed=1))
    second = student_result(student, X, y, **arguments(experiment, seed=2))
    check_true(
        not np.allclose(np.asarray(first["losses"]), np.asarray(second["losses"])),
        f"{FUNCTION} gave the same losses for seed=1 and seed=2: pass the seed argument to "
        "np.random.seed (not a fixed number)",
    )


@pytest.mark.grade_cell("experiments")
def test_experiment_does_not_modify_its_inputs(student, rng):
    experiment = EXPERIMENTS[0]
    X, y = experiment_data(rng, experiment)
    after = student.invoke(FUNCTION, [X, y], arguments(experiment), return_args=True).args_after
    check_true(
        np.array_equal(after[0][0], X) and np.array_equal(after[0][1], y),
        f"{FUNCTION} changed the caller's X or y",
    )


# -- l2_regularisation ------------------------------------------------------------------------

L2_CLASS = "NeuralNetworkL2"
L2_LAMBDA = 0.7
LEARNING_RATE = 0.1
FIT_EPOCHS = 3
L2_KEYS = ("batch1", "single-feature", "two-hidden")
L2_CASES = cases(BINARY, keys=L2_KEYS)


def problem_for(rng, activation, arch) -> Problem:
    return draw_problem(rng, arch, activation, "sigmoid")


def penalty(weights: list[np.ndarray]) -> float:
    return float(sum(np.sum(W * W) for W in weights))


def reference_l2(problem: Problem, l2_lambda: float = L2_LAMBDA) -> ref.NeuralNetworkL2:
    network = ref.NeuralNetworkL2(problem.sizes, problem.activation, LEARNING_RATE, l2_lambda)
    network.weights = [W.copy() for W in problem.weights]
    network.biases = [b.copy() for b in problem.biases]
    return network


def reference_l2_gradients(problem: Problem) -> tuple[list[np.ndarray], list[np.ndarray]]:
    network = reference_l2(problem)
    network.forward(problem.X)
    return network.backward(problem.X, problem.y)


def l2_network(student, problem: Problem, l2_lambda: float = L2_LAMBDA):
    return student_network(student, L2_CLASS, problem, lr=LEARNING_RATE, l2_lambda=l2_lambda)


def l2_gradients(problem: Problem, l2_lambda: float = L2_LAMBDA, *, scale: float = 1.0):
    """The reference gradients of the penalised loss, with the penalty's gradient times
    ``scale`` (1 is correct; other values give known mistakes)."""
    dW, db = problem.reference_gradients()
    factor = scale * l2_lambda / problem.m
    return [g + factor * W for g, W in zip(dW, problem.weights, strict=True)], db


def l2_mistakes(problem: Problem, l2_lambda: float = L2_LAMBDA):
    dW, db = l2_gradients(problem, l2_lambda)
    m = problem.m
    return {
        "the L2 term l2_lambda / m * W is missing from dW": problem.reference_gradients(),
        "the L2 gradient lacks the 1/m factor (l2_lambda * W)": l2_gradients(
            problem, l2_lambda, scale=m
        ),
        "the L2 gradient is l2_lambda / (2 m) * W: the derivative of W**2 is 2 W": l2_gradients(
            problem, l2_lambda, scale=0.5
        ),
        "the biases are regularised too (L2 applies to the weights only)": (
            dW,
            [g + l2_lambda / m * b for g, b in zip(db, problem.biases, strict=True)],
        ),
    }


@pytest.mark.grade_cell("l2_regularisation")
def test_l2_keeps_lambda_and_the_network_settings(student):
    network = student.new(L2_CLASS, [2, 3, 1], activation="tanh", learning_rate=0.05, l2_lambda=0.3)
    check_true(network.get("l2_lambda") == 0.3, "l2_lambda should be stored as `l2_lambda`")
    check_true(network.get("lr") == 0.05, "the learning rate should be stored as `lr`")
    check_true(
        [np.shape(W) for W in network.get("weights")] == [(2, 3), (3, 1)],
        f"{L2_CLASS}([2, 3, 1]) should initialise its weights like NeuralNetwork",
    )
    default = student.new(L2_CLASS, [2, 3, 1])
    check_true(
        default.get("l2_lambda") == 0.0,
        f"{L2_CLASS}([2, 3, 1]) without l2_lambda should use l2_lambda = 0.0",
    )


@pytest.mark.grade_cell("l2_regularisation")
@pytest.mark.parametrize(("activation", "arch"), L2_CASES)
def test_l2_compute_loss_matches_reference(student, rng, activation, arch):
    problem = problem_for(rng, activation, arch)
    y_pred, _ = problem.reference_forward()
    network = l2_network(student, problem)
    expected = reference_l2(problem).compute_loss(y_pred, problem.y)
    bce = ref.binary_cross_entropy(y_pred, problem.y)
    m, squares = problem.m, penalty(problem.weights)
    bias_squares = penalty(problem.biases)
    check_close(
        network.call("compute_loss", y_pred, problem.y),
        expected,
        what="compute_loss(y_pred, y_true)",
        oracle="the reference implementation (BCE + l2_lambda / (2 m) * sum of ||W||^2)",
        on=f"{describe(problem)}, l2_lambda={L2_LAMBDA}",
        mistakes={
            "the L2 penalty is missing (plain BCE)": bce,
            "the penalty lacks the 1/m factor (l2_lambda / 2 * sum ||W||^2)": bce
            + L2_LAMBDA / 2 * squares,
            "the penalty lacks the 1/2 factor (l2_lambda / m * sum ||W||^2)": bce
            + L2_LAMBDA / m * squares,
            "the biases are regularised too (L2 applies to the weights only)": expected
            + L2_LAMBDA / (2 * m) * bias_squares,
            "the norms are not squared": bce
            + L2_LAMBDA / (2 * m) * sum(np.linalg.norm(W) for W in problem.weights),
        },
    )


def student_l2_gradients(student, problem: Problem, l2_lambda: float = L2_LAMBDA):
    network = l2_network(student, problem, l2_lambda)
    network.call("forward", problem.X)
    return network.call("backward", problem.X, problem.y)


def torch_l2_gradients(problem: Problem, l2_lambda: float = L2_LAMBDA):
    """Autograd of the mean BCE plus ``l2_lambda / (2 m) * sum ||W||^2`` of the weights."""
    model = oracles.torch_network(problem.weights, problem.biases, problem.activation)
    weights = [layer.weight for layer in model if isinstance(layer, torch.nn.Linear)]
    loss = oracles.mean_loss(model, problem.X, problem.y, "sigmoid")
    loss = loss + l2_lambda / (2 * problem.m) * sum((W * W).sum() for W in weights)
    loss.backward()
    return oracles.gradients_of(model)


@oracles.memoized
def finite_difference_l2_gradients(problem: Problem, l2_lambda: float = L2_LAMBDA):
    """Central differences of the reference's penalised loss."""

    def loss(weights, biases) -> float:
        y_hat, _ = ref.forward(weights, biases, problem.X, problem.activation, "sigmoid")
        bce = ref.binary_cross_entropy(y_hat, problem.y)
        return bce + l2_lambda / (2 * problem.m) * penalty(weights)

    ws, bs = problem.weights, problem.biases
    dW = [
        ref.numerical_gradient(
            lambda W, i=i: loss([*ws[:i], W, *ws[i + 1 :]], bs), ws[i], FINITE_DIFFERENCE_STEP
        )
        for i in range(len(ws))
    ]
    db = [
        ref.numerical_gradient(
            lambda b, i=i: loss(ws, [*bs[:i], b, *bs[i + 1 :]]), bs[i], FINITE_DIFFERENCE_STEP
        )
        for i in range(len(bs))
    ]
    return dW, db


def check_l2_gradients(got, expected, problem: Problem, *, oracle: str, **tolerances) -> None:
    check_gradients(got, expected, problem, oracle, mistakes=l2_mistakes(problem), **tolerances)


@pytest.mark.grade_cell("l2_regularisation")
@pytest.mark.weight(2)
def test_l2_biases_are_not_regularised(student, rng):
    problem = problem_for(rng, "tanh", BINARY[2])
    _, db = unpack_gradients(
        student_l2_gradients(student, problem, l2_lambda=5.0), problem, "backward(X, y_true)"
    )
    _, expected = problem.reference_gradients()
    for layer, (got, plain) in enumerate(zip(db, expected, strict=True)):
        check_close(
            got,
            plain,
            what=f"db[{layer}] from backward(X, y_true)",
            oracle="the gradients of NeuralNetwork (L2 regularisation leaves the biases alone)",
            on=f"{describe(problem)}, l2_lambda=5.0",
            mistakes={
                "the biases are regularised too (L2 applies to the weights only)": plain
                + 5.0 / problem.m * problem.biases[layer]
            },
        )


@pytest.mark.grade_cell("l2_regularisation")
@pytest.mark.weight(2)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_l2_fit_matches_torch_sgd_with_weight_decay(student, rng, activation):
    problem = problem_for(rng, activation, BINARY[2])
    network = l2_network(student, problem)
    network.call("fit", problem.X, problem.y, epochs=FIT_EPOCHS, verbose=False)
    expected_W, expected_b = oracles.torch_sgd(
        problem.weights,
        problem.biases,
        problem.X,
        problem.y,
        activation=activation,
        output="sigmoid",
        lr=LEARNING_RATE,
        steps=FIT_EPOCHS,
        weight_decay=L2_LAMBDA / problem.m,
    )
    plain_W, _ = oracles.torch_sgd(
        problem.weights,
        problem.biases,
        problem.X,
        problem.y,
        activation=activation,
        output="sigmoid",
        lr=LEARNING_RATE,
        steps=FIT_EPOCHS,
    )
    for name, got, expected in [
        ("weights", network.get("weights"), expected_W),
        ("biases", network.get("biases"), expected_b),
    ]:
        for layer in range(len(expected)):
            no_decay = {"no weight decay: the L2 gradient is not used": plain_W[layer]}
            check_close(
                got[layer],
                expected[layer],
                what=f"{name}[{layer}] after fit(X, y, epochs={FIT_EPOCHS})",
                oracle=f"{FIT_EPOCHS} torch.optim.SGD steps with weight_decay = l2_lambda / m "
                "on the weights",
                on=f"{describe(problem)}, l2_lambda={L2_LAMBDA}, lr={LEARNING_RATE}",
                rtol=TRAINING_RTOL,
                atol=TRAINING_ATOL,
                mistakes=no_decay if name == "weights" else None,
            )


@pytest.mark.grade_cell("l2_regularisation")
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_l2_with_zero_lambda_is_the_plain_network(student, rng, activation):
    problem = problem_for(rng, activation, BINARY[2])
    y_pred, _ = problem.reference_forward()
    network = l2_network(student, problem, l2_lambda=0.0)
    check_close(
        network.call("compute_loss", y_pred, problem.y),
        ref.binary_cross_entropy(y_pred, problem.y),
        what="compute_loss(y_pred, y_true) with l2_lambda=0",
        oracle="NeuralNetwork.compute_loss (the plain mean BCE)",
        on=describe(problem),
    )
    network.call("forward", problem.X)
    check_gradients(
        network.call("backward", problem.X, problem.y),
        problem.reference_gradients(),
        problem,
        "NeuralNetwork.backward (l2_lambda=0 adds nothing)",
    )


# -- weight_snapshot --------------------------------------------------------------------------

SNAPSHOT = "snapshot_weights"
SNAPSHOT_CASES = cases(BINARY, keys=("batch1", "two-hidden", "no-hidden"))
#: Keeps the snapshot in the student's process, so that it can be read after training.
HOLD = f"__import__('types').SimpleNamespace(value={SNAPSHOT}(network))"
#: How the snapshot relates to the network's own arrays (evaluated right after taking it).
ALIASING = (
    "[holder.value is network.weights, "
    "[any(__import__('numpy').shares_memory(s, W) for W in network.weights) "
    "if isinstance(s, __import__('numpy').ndarray) else False for s in holder.value]]"
)


def snapshot_network(student, rng, activation: str = "relu", arch=BINARY[2]):
    problem = problem_for(rng, activation, arch)
    return problem, student_network(student, "NeuralNetwork", problem, lr=LEARNING_RATE)


def held_snapshot(student, network):
    holder = student.evaluate(HOLD, f"{SNAPSHOT}(network)", network=network)
    same_list, shared = student.evaluate(
        ALIASING, f"inspecting the result of {SNAPSHOT}(network)", holder=holder, network=network
    )
    return holder, bool(same_list), list(shared)


def aliasing_mistake(same_list: bool, shared: list[bool]) -> str:
    if same_list:
        return (
            "the snapshot is network.weights itself (the same list): return a new list of "
            "copies, [W.copy() for W in network.weights]"
        )
    if any(shared):
        return (
            "the snapshot is a new list that still holds the network's arrays (list(...), "
            "weights.copy() and weights[:] copy only the list): copy every array, "
            "[W.copy() for W in network.weights]"
        )
    return ""


def check_snapshot(got: Any, expected: list[np.ndarray], when: str, mistake: str = "") -> None:
    check_true(
        isinstance(got, list | tuple) and len(got) == len(expected),
        f"{SNAPSHOT}(network) should return a list with one array per layer ({len(expected)}); "
        f"got {type(got).__name__}",
    )
    for layer, (W, V) in enumerate(zip(got, expected, strict=True)):
        check_close(
            W,
            V,
            what=f"snapshot[{layer}] {when}",
            oracle="the weights at the time of the snapshot",
            on=f"a network with weights of shapes {[np.shape(E) for E in expected]}",
            rtol=0.0,
            atol=0.0,
            mistakes={mistake: W} if mistake else None,  # the aliasing seen when it was taken
        )
    if mistake:  # the values are right, but the snapshot could change later
        pytest.fail(f"{SNAPSHOT}(network): {mistake}.", pytrace=False)


@pytest.mark.grade_cell("weight_snapshot")
@pytest.mark.parametrize(("activation", "arch"), SNAPSHOT_CASES)
def test_snapshot_equals_the_weights(student, rng, activation, arch):
    problem, network = snapshot_network(student, rng, activation, arch)
    check_snapshot(student.call(SNAPSHOT, network), problem.weights, "right after taking it")


@pytest.mark.grade_cell("weight_snapshot")
@pytest.mark.weight(2)
def test_snapshot_unchanged_by_an_in_place_update(student, rng):
    problem, network = snapshot_network(student, rng)
    holder, same_list, shared = held_snapshot(student, network)
    dW, db = problem.reference_gradients()
    network.call("update_parameters", dW, db)  # param -= lr * grad: changes the arrays in place
    check_snapshot(
        holder.get("value"),
        problem.weights,
        "after network.update_parameters(dW, db) (which changes the weight arrays in place)",
        aliasing_mistake(same_list, shared),
    )


@pytest.mark.grade_cell("weight_snapshot")
@pytest.mark.weight(2)
def test_snapshot_unchanged_by_fit(student, rng):
    problem, network = snapshot_network(student, rng, "tanh")
    holder, same_list, shared = held_snapshot(student, network)
    network.call("fit", problem.X, problem.y, epochs=3, verbose=False)
    check_snapshot(
        holder.get("value"),
        problem.weights,
        "after network.fit(X, y, epochs=3)",
        aliasing_mistake(same_list, shared),
    )


@pytest.mark.grade_cell("weight_snapshot")
def test_snapshot_does_not_modify_the_network(student, rng):
    problem, network = snapshot_network(student, rng)
    identity = "[id(network.weights), [id(W) for W in network.weights]]"
    before = student.evaluate(identity, "reading network.weights", network=network)
    student.call(SNAPSHOT, network)
    after = student.evaluate(identity, "reading network.weights", network=network)
    check_true(
        before == after,
        f"{SNAPSHOT}(network) replaced network.weights or its arrays: copy them, "
        "leave the network's own arrays in place",
    )
    check_true(
        all(
            np.array_equal(W, V)
            for W, V in zip(network.get("weights"), problem.weights, strict=True)
        ),
        f"{SNAPSHOT}(network) changed the network's weights",
    )
