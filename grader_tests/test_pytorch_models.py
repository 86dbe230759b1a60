"""Hidden checks of the PyTorch models: ``PyTorchMLP`` (grade cell ``pytorch_mlp``) and
``PyTorchMultiClassMLP`` (grade cell ``pytorch_multiclass``).

The student's module stays in the student's process; the checks read its structure and its
parameters as plain data (``student.evaluate``), rebuild the same network from those parameters in
the trusted process (:func:`grader_tests.oracles.torch_network`) and compare outputs and SGD steps.
The value checks run the student's module in float64 (``model.double()``), so that any difference
is a mistake, not rounding; one check per model runs it in its default float32.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

import reference_impl as ref
from gradekit.sandbox.student import RemoteObject
from grader_tests import oracles
from grader_tests.compare import check_close, check_true, shape_of
from grader_tests.networks import BINARY, HIDDEN_ACTIVATIONS, MULTICLASS, Architecture, cases
from grader_tests.tolerances import FLOAT32_ATOL, FLOAT32_RTOL, TRAINING_ATOL, TRAINING_RTOL

BINARY_CLASS = "PyTorchMLP"
MULTICLASS_CLASS = "PyTorchMultiClassMLP"
TORCH_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
LEARNING_RATE = 0.1
SGD_STEPS = 3

#: Evaluated in the student's process: ``torch`` imported there, whatever the notebook called it.
WITH_TORCH = "(lambda torch: {body})(__import__('torch'))"
#: The module's leaf modules in registration order: (kind, (in, out) of a Linear, #parameters).
LEAVES = WITH_TORCH.format(
    body="[(next((k for k in ('Linear', 'ReLU', 'Tanh', 'Sigmoid', 'Softmax', 'LogSoftmax') "
    "if isinstance(leaf, getattr(torch.nn, k))), type(leaf).__name__), "
    "(leaf.in_features, leaf.out_features) if isinstance(leaf, torch.nn.Linear) else None, "
    "sum(p.numel() for p in leaf.parameters(recurse=False))) "
    "for leaf in list(model.modules())[1:] if next(leaf.children(), None) is None]"
)
#: The ``nn.Linear`` parameters in registration order, as float64 arrays.
PARAMETERS = WITH_TORCH.format(
    body="[(leaf.weight.detach().double().numpy().copy(), "
    "None if leaf.bias is None else leaf.bias.detach().double().numpy().copy()) "
    "for leaf in model.modules() if isinstance(leaf, torch.nn.Linear)]"
)
IS_MODULE = WITH_TORCH.format(body="isinstance(model, torch.nn.Module)")
AS_FLOAT64 = "model.double() is not None"


def literal(array: np.ndarray, dtype: str = "float64") -> str:
    """A torch expression that rebuilds ``array`` exactly in the student's process."""
    return f"torch.tensor({np.asarray(array).tolist()!r}, dtype=torch.{dtype})"


def sgd_steps(X: np.ndarray, target: np.ndarray, loss: str, target_dtype: str) -> str:
    """An expression that trains ``model`` for ``SGD_STEPS`` full-batch gradient-descent steps in
    its process: ``loss.backward()``, then ``p -= lr * p.grad`` for every parameter of
    ``model.parameters()`` that received a gradient (the update of ``torch.optim.SGD``, without
    the optimiser's start-up cost in the student's process)."""
    return WITH_TORCH.format(
        body=f"(lambda X, target: [(model.zero_grad(), "
        f"torch.nn.{loss}()(model(X), target).backward(), "
        f"[p.data.sub_({LEARNING_RATE!r} * p.grad) for p in model.parameters() "
        f"if p.grad is not None]) for _ in range({SGD_STEPS})])"
        f"({literal(X)}, {literal(target, target_dtype)}) and None"
    )


# -- helpers ----------------------------------------------------------------------------------


#: Seeds the student's process (NumPy, ``random``, ``torch.manual_seed``) before their model is
#: built: the checks read its parameters, so a wrong model's verdict must not change from one
#: grading to the next with its random initial weights.
MODEL_SEED = 5


def build(student, class_name: str, sizes: tuple[int, ...], activation: str) -> Any:
    if class_name == BINARY_CLASS:
        args, kwargs = [list(sizes)], {"activation": activation}
    else:
        args, kwargs = [sizes[0], list(sizes[1:-1]), sizes[-1]], {}
    model = student.invoke(class_name, args, kwargs, seed=MODEL_SEED).value
    check_true(
        isinstance(model, RemoteObject),
        f"{call_text(class_name, sizes, activation)} did not create an object "
        f"(got {type(model).__name__})",
    )
    return model


def call_text(class_name: str, sizes: tuple[int, ...], activation: str) -> str:
    if class_name == BINARY_CLASS:
        return f"{class_name}({list(sizes)}, activation={activation!r})"
    return f"{class_name}({sizes[0]}, {list(sizes[1:-1])}, {sizes[-1]})"


def leaves_of(student, model) -> list[tuple[str, Any, int]]:
    return [
        tuple(leaf) for leaf in student.evaluate(LEAVES, "listing your model's layers", model=model)
    ]


def check_linears(student, model, class_name, sizes, activation) -> list[tuple[str, Any, int]]:
    """``nn.Linear`` layers of the right shapes, visible to PyTorch (what rebuilding the model in
    the trusted process needs); returns the leaf modules."""
    text = call_text(class_name, sizes, activation)
    leaves = leaves_of(student, model)
    linears = [tuple(shape) for kind, shape, _ in leaves if kind == "Linear"]
    expected = list(itertools.pairwise(sizes))
    check_true(
        bool(linears),
        f"{text} has no nn.Linear layer that PyTorch can see: keep the layers in an "
        "nn.Sequential or nn.ModuleList (a plain Python list hides them from .parameters())",
    )
    check_true(
        linears == expected,
        f"{text} should have nn.Linear layers (in_features, out_features) = {expected}, "
        f"got {linears}",
    )
    return leaves


def check_architecture(student, model, class_name, sizes, activation) -> None:
    """``nn.Linear`` layers of the right shapes, visible to PyTorch, holding every parameter.

    How the layers are registered (``nn.Sequential``, ``nn.ModuleList``, named attributes) and
    whether the activations are modules or functional calls (``torch.relu``) is the student's
    choice: which activation is applied where is judged by ``forward``'s values."""
    text = call_text(class_name, sizes, activation)
    leaves = check_linears(student, model, class_name, sizes, activation)
    others = [kind for kind, _, count in leaves if kind != "Linear" and count]
    check_true(not others, f"{text} should only have parameters in nn.Linear layers, not {others}")


def parameters_of(student, model, text: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The student's ``nn.Linear`` parameters as ``(n_in, n_out)`` weights and ``(1, n_out)``
    biases, the shapes :func:`oracles.torch_network` takes."""
    pairs = student.evaluate(PARAMETERS, f"reading the parameters of {text}", model=model)
    check_true(
        all(bias is not None for _, bias in pairs),
        f"{text}: every nn.Linear layer needs a bias (bias=True, the default)",
    )
    return [np.asarray(W).T for W, _ in pairs], [np.reshape(b, (1, -1)) for _, b in pairs]


def prepared(student, class_name, arch: Architecture, activation: str):
    """The student's model (its nn.Linear layers checked), switched to float64, and its
    parameters."""
    model = build(student, class_name, arch.sizes, activation)
    check_linears(student, model, class_name, arch.sizes, activation)
    student.evaluate(AS_FLOAT64, "model.double()", model=model)
    weights, biases = parameters_of(student, model, call_text(class_name, arch.sizes, activation))
    return model, weights, biases


def forward_output(model, X: np.ndarray, dtype: torch.dtype = torch.float64) -> np.ndarray:
    result = model.call("forward", torch.tensor(X, dtype=dtype))
    check_true(
        isinstance(result, torch.Tensor),
        f"{model.type_name}.forward(x) should return a torch tensor, got {type(result).__name__}",
    )
    return result.detach().numpy().astype(np.float64)


def trusted_output(weights, biases, X: np.ndarray, activation: str, output: str) -> np.ndarray:
    with torch.no_grad():
        logits = oracles.torch_network(weights, biases, activation)(oracles.t64(X))
        return (torch.sigmoid(logits) if output == "sigmoid" else logits).numpy()


def check_is_module(student, class_name: str, sizes: tuple[int, ...]) -> None:
    model = build(student, class_name, sizes, "relu")
    check_true(
        bool(student.evaluate(IS_MODULE, f"isinstance({class_name}(...), nn.Module)", model=model)),
        f"{class_name} should be a subclass of torch.nn.Module "
        f"(class {class_name}(nn.Module): ... with super().__init__())",
    )


def check_sgd_steps(student, class_name, arch: Architecture, activation: str, rng) -> None:
    """``SGD_STEPS`` full-batch SGD steps on the student's module, in its process, against
    ``torch.optim.SGD`` on the trusted rebuild."""
    model, weights, biases = prepared(student, class_name, arch, activation)
    X = rng.normal(size=(arch.m, arch.sizes[0]))
    if class_name == BINARY_CLASS:
        y = rng.integers(0, 2, size=(arch.m, 1)).astype(np.float64)
        expression, output = sgd_steps(X, y, "BCELoss", "float64"), "sigmoid"
        loss = "nn.BCELoss"
    else:
        y = rng.integers(0, arch.sizes[-1], size=arch.m)
        expression, output = sgd_steps(X, y, "CrossEntropyLoss", "long"), "softmax"
        loss = "nn.CrossEntropyLoss"
    text = call_text(class_name, arch.sizes, activation)
    student.evaluate(
        expression, f"{SGD_STEPS} gradient-descent steps ({loss}) on {text}", model=model
    )
    expected_W, expected_b = oracles.torch_sgd(
        weights,
        biases,
        X,
        y,
        activation=activation,
        output=output,
        lr=LEARNING_RATE,
        steps=SGD_STEPS,
    )
    got_W, got_b = parameters_of(student, model, text)
    for name, got, expected, before in [
        ("weight", got_W, expected_W, weights),
        ("bias", got_b, expected_b, biases),
    ]:
        for layer in range(len(expected)):
            check_close(
                got[layer],
                expected[layer],
                what=f"the {name} of nn.Linear layer {layer} after {SGD_STEPS} SGD steps",
                oracle="torch.optim.SGD on a trusted torch model with your initial parameters",
                on=f"{shape_of(X)} through {text}, {loss}, lr={LEARNING_RATE}",
                rtol=TRAINING_RTOL,
                atol=TRAINING_ATOL,
                mistakes={
                    "the parameter does not change: it is not registered (use nn.Linear inside "
                    "nn.Sequential or nn.ModuleList), or forward cuts the graph "
                    "(.detach(), .numpy(), torch.tensor(...))": before[layer],
                },
            )


# -- pytorch_mlp ------------------------------------------------------------------------------


@pytest.mark.grade_cell("pytorch_mlp")
def test_mlp_is_a_torch_module(student):
    check_is_module(student, BINARY_CLASS, (2, 4, 1))


@pytest.mark.grade_cell("pytorch_mlp")
@pytest.mark.parametrize(("activation", "arch"), cases(BINARY))
def test_mlp_architecture(student, activation, arch):
    model = build(student, BINARY_CLASS, arch.sizes, activation)
    check_architecture(student, model, BINARY_CLASS, arch.sizes, activation)


@pytest.mark.grade_cell("pytorch_mlp")
def test_mlp_default_activation_is_relu(student, rng):
    arch = Architecture("default", (2, 5, 1), 12)
    model = student.new(BINARY_CLASS, list(arch.sizes))
    check_linears(student, model, BINARY_CLASS, arch.sizes, "relu")
    student.evaluate(AS_FLOAT64, "model.double()", model=model)
    weights, biases = parameters_of(student, model, "PyTorchMLP([2, 5, 1])")
    X = rng.normal(size=(arch.m, arch.sizes[0]))
    check_close(
        forward_output(model, X),
        trusted_output(weights, biases, X, "relu", "sigmoid"),
        what="PyTorchMLP([2, 5, 1]).forward(x) (no activation argument)",
        oracle="a trusted torch model with your parameters and ReLU, the default activation",
        on=f"a float64 tensor of shape {X.shape}",
        mistakes={
            f"the default activation is {name}, not relu": trusted_output(
                weights, biases, X, name, "sigmoid"
            )
            for name in ("tanh", "sigmoid")
        },
    )


@pytest.mark.grade_cell("pytorch_mlp")
@pytest.mark.parametrize(("activation", "arch"), cases(BINARY))
def test_mlp_forward_matches_torch(student, rng, activation, arch):
    model, weights, biases = prepared(student, BINARY_CLASS, arch, activation)
    X = rng.normal(size=(arch.m, arch.sizes[0]))
    expected = trusted_output(weights, biases, X, activation, "sigmoid")
    logits = trusted_output(weights, biases, X, activation, "logits")
    check_close(
        forward_output(model, X),
        expected,
        what=f"{call_text(BINARY_CLASS, arch.sizes, activation)}.forward(x)",
        oracle="a trusted torch model with your parameters (sigmoid of the last nn.Linear)",
        on=f"a float64 tensor of shape {X.shape}",
        mistakes={
            "the output sigmoid is missing (forward returns the logits)": logits,
            "the sigmoid is applied twice": ref.sigmoid(expected),
            "the hidden activation is also applied after the output layer": ref.sigmoid(
                getattr(ref, activation)(logits)
            ),
        },
    )


@pytest.mark.grade_cell("pytorch_mlp")
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_mlp_forward_in_float32(student, rng, activation):
    arch = BINARY[2]
    model = build(student, BINARY_CLASS, arch.sizes, activation)
    check_linears(student, model, BINARY_CLASS, arch.sizes, activation)
    weights, biases = parameters_of(student, model, call_text(BINARY_CLASS, arch.sizes, activation))
    X = rng.normal(size=(arch.m, arch.sizes[0])).astype(np.float32).astype(np.float64)
    check_close(
        forward_output(model, X, torch.float32),
        trusted_output(weights, biases, X, activation, "sigmoid"),
        what=f"{call_text(BINARY_CLASS, arch.sizes, activation)}.forward(x)",
        oracle="a trusted float64 torch model with your parameters",
        on=f"a float32 tensor of shape {X.shape} (PyTorch's default dtype)",
        rtol=FLOAT32_RTOL,
        atol=FLOAT32_ATOL,
    )


@pytest.mark.grade_cell("pytorch_mlp")
@pytest.mark.weight(2)
@pytest.mark.parametrize(("activation", "arch"), cases(BINARY, keys=("batch1", "two-hidden")))
def test_mlp_sgd_steps_match_torch(student, rng, activation, arch):
    check_sgd_steps(student, BINARY_CLASS, arch, activation, rng)


# -- pytorch_multiclass -----------------------------------------------------------------------

MULTICLASS_CASES = [pytest.param(arch, id=arch.key) for arch in MULTICLASS]


@pytest.mark.grade_cell("pytorch_multiclass")
def test_multiclass_is_a_torch_module(student):
    check_is_module(student, MULTICLASS_CLASS, (4, 10, 8, 3))


@pytest.mark.grade_cell("pytorch_multiclass")
@pytest.mark.parametrize("arch", MULTICLASS_CASES)
def test_multiclass_architecture(student, arch):
    model = build(student, MULTICLASS_CLASS, arch.sizes, "relu")
    check_architecture(student, model, MULTICLASS_CLASS, arch.sizes, "relu")


@pytest.mark.grade_cell("pytorch_multiclass")
@pytest.mark.parametrize("arch", MULTICLASS_CASES)
def test_multiclass_forward_matches_torch(student, rng, arch):
    model, weights, biases = prepared(student, MULTICLASS_CLASS, arch, "relu")
    X = rng.normal(size=(arch.m, arch.sizes[0]))
    expected = trusted_output(weights, biases, X, "relu", "logits")
    check_close(
        forward_output(model, X),
        expected,
        what=f"{call_text(MULTICLASS_CLASS, arch.sizes, 'relu')}.forward(x)",
        oracle="a trusted torch model with your parameters (the logits of the last nn.Linear)",
        on=f"a float64 tensor of shape {X.shape}",
        mistakes={
            "softmax applied: forward must return logits (nn.CrossEntropyLoss applies the "
            "softmax itself)": ref.softmax(expected),
            "log-softmax applied: forward must return the logits": np.log(ref.softmax(expected)),
            "a ReLU after the output layer: forward must return the raw logits": ref.relu(expected),
        },
    )


@pytest.mark.grade_cell("pytorch_multiclass")
def test_multiclass_returns_logits_not_probabilities(student, rng):
    arch = MULTICLASS[2]
    model = build(student, MULTICLASS_CLASS, arch.sizes, "relu")
    X = 3 * rng.normal(size=(arch.m, arch.sizes[0]))
    output = forward_output(model, X, torch.float32)
    check_true(
        output.shape == (arch.m, arch.sizes[-1]),
        f"{call_text(MULTICLASS_CLASS, arch.sizes, 'relu')}.forward(x) should return shape "
        f"(m, num_classes) = {(arch.m, arch.sizes[-1])}, got {output.shape}",
    )
    check_true(
        not np.allclose(output.sum(axis=1), 1.0, atol=1e-4),
        "forward returns rows that sum to 1 (probabilities): return the logits of the last "
        "nn.Linear instead, nn.CrossEntropyLoss applies the softmax itself",
    )


@pytest.mark.grade_cell("pytorch_multiclass")
def test_multiclass_forward_in_float32(student, rng):
    arch = MULTICLASS[2]
    model = build(student, MULTICLASS_CLASS, arch.sizes, "relu")
    check_linears(student, model, MULTICLASS_CLASS, arch.sizes, "relu")
    weights, biases = parameters_of(student, model, call_text(MULTICLASS_CLASS, arch.sizes, "relu"))
    X = rng.normal(size=(arch.m, arch.sizes[0])).astype(np.float32).astype(np.float64)
    check_close(
        forward_output(model, X, torch.float32),
        trusted_output(weights, biases, X, "relu", "logits"),
        what=f"{call_text(MULTICLASS_CLASS, arch.sizes, 'relu')}.forward(x)",
        oracle="a trusted float64 torch model with your parameters",
        on=f"a float32 tensor of shape {X.shape} (PyTorch's default dtype)",
        rtol=FLOAT32_RTOL,
        atol=FLOAT32_ATOL,
    )


@pytest.mark.grade_cell("pytorch_multiclass")
@pytest.mark.weight(2)
@pytest.mark.parametrize(
    "arch", [case for case in MULTICLASS_CASES if case.id in ("batch1", "two-hidden")]
)
def test_multiclass_trains_with_cross_entropy(student, rng, arch):
    check_sgd_steps(student, MULTICLASS_CLASS, arch, "relu", rng)
