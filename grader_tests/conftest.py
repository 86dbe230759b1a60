"""Fixtures of the hidden checks of the ``mlp_from_scratch`` assignment.

Run one notebook's checks with ``pytest grader_tests --notebook PATH`` (the engine's pytest plugin,
:mod:`gradekit.checks.pytest_plugin`, loads the notebook's definitions into a separate process).
Each check is marked with the grade cell it counts for (``@pytest.mark.grade_cell("activations")``)
and may carry ``@pytest.mark.weight(w)``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from gradekit.core.libraries import ArrayType, Libraries
from gradekit.core.plans import Assignment, CellRule
from gradekit.sandbox.student import Student
from gradekit.sandbox.submission import Submission
from grader_tests.integrity import TORCH_ITEMS

REFERENCE_PACKAGE = Path(__file__).resolve().parent.parent / "reference_impl"

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")
DERIVATIVES = tuple(f"{name}_derivative" for name in ACTIVATIONS)
ACTIVATION_NAMES = ACTIVATIONS + DERIVATIVES

#: The grade cells of the assignment and the names each one grades.
GRADED_NAMES: dict[str, tuple[str, ...]] = {
    "logreg_predictions": ("LogisticRegression",),
    "logreg_training": ("LogisticRegression",),
    "activations": ACTIVATIONS,
    "derivatives": DERIVATIVES,
    "forward_example": ("two_layer_forward",),
    "by_hand": ("by_hand",),
    "nn_init": ("NeuralNetwork",),
    "nn_forward": ("NeuralNetwork",),
    "nn_backward": ("NeuralNetwork",),
    "nn_training": ("NeuralNetwork",),
    "gradient_check": ("numerical_gradient", "relative_error"),
    "pytorch_mlp": ("PyTorchMLP",),
    "pytorch_training": ("train_pytorch",),
    "pytorch_validation": ("copy_weights_to_torch", "compare_with_pytorch", "same_weights_losses"),
    "mc_init": ("MultiClassNeuralNetwork",),
    "mc_softmax_loss": ("MultiClassNeuralNetwork",),
    "mc_backward": ("MultiClassNeuralNetwork",),
    "mc_training": ("MultiClassNeuralNetwork",),
    "pytorch_multiclass": ("PyTorchMultiClassMLP",),
    "pytorch_multiclass_training": ("train_pytorch_multiclass",),
    "experiments": ("run_experiment",),
    "l2_regularisation": ("NeuralNetworkL2",),
    "weight_snapshot": ("snapshot_weights",),
}

#: Earlier items each grade cell relies on. The checks run with the reference versions of these
#: names, so a bug in an earlier item costs points only where that item is graded.
USES_REFERENCE: dict[str, tuple[str, ...]] = {
    "derivatives": ACTIVATIONS,  # e.g. sigmoid_derivative may call sigmoid
    "forward_example": ("relu", "sigmoid"),
    "nn_init": ACTIVATION_NAMES,
    "nn_forward": ACTIVATION_NAMES,
    "nn_backward": ACTIVATION_NAMES,
    "nn_training": ACTIVATION_NAMES,
    # The comparison and the same-weights run get the reference NeuralNetwork (a bug of the
    # student's network is charged in the nn_* cells).
    "pytorch_validation": ("NeuralNetwork", *ACTIVATION_NAMES),
    "mc_init": ACTIVATION_NAMES,
    "mc_softmax_loss": ACTIVATION_NAMES,
    "mc_backward": ACTIVATION_NAMES,
    "mc_training": ACTIVATION_NAMES,
    "experiments": ("NeuralNetwork", *ACTIVATION_NAMES),
    "l2_regularisation": ("NeuralNetwork", *ACTIVATION_NAMES),
    "weight_snapshot": ("NeuralNetwork", *ACTIVATION_NAMES),
}

#: Further reference names a cell's checks put into the student's process (``student.evaluate``
#: expressions that patch reference methods onto the student's object).
REFERENCE_IN_PROCESS: dict[str, tuple[str, ...]] = {
    "logreg_training": ("sigmoid", "binary_cross_entropy", "binary_accuracy"),
    "mc_backward": ("softmax",),
    "mc_training": (
        "softmax",
        "forward",
        "backward",
        "categorical_cross_entropy",
        "categorical_accuracy",
    ),
}

#: The reference modules that may be shipped into a student's process, with the grade cells whose
#: answers each computes: a process never holds the answers of a cell it grades. Modules not
#: listed (``by_hand``: the by-hand answers; ``gradcheck``: the answers of ``gradient_check``) never
#: leave the trusted side.
REFERENCE_ANSWERS: dict[str, tuple[str, ...]] = {
    "activations": ("activations",),
    "derivatives": ("derivatives",),
    "losses": ("logreg_predictions", "nn_forward", "mc_softmax_loss"),
    "logistic": ("logreg_predictions", "logreg_training"),
    "network_core": (
        "nn_init",
        "nn_forward",
        "nn_backward",
        "mc_init",
        "mc_softmax_loss",
        "mc_backward",
    ),
    "networks": (
        "nn_init",
        "nn_forward",
        "nn_backward",
        "nn_training",
        "mc_init",
        "mc_softmax_loss",
        "mc_backward",
        "mc_training",
    ),
    "practice": ("forward_example", "experiments", "l2_regularisation", "weight_snapshot"),
}

#: Packages absent from the student's process while a from-scratch item's checks run (importing
#: one is a forbidden shortcut; ``integrity.py`` states the rules and the source scan names them).
FROM_SCRATCH_WITHOUT = ("torch", "sklearn")

#: PyTorch, as the engine must know it (see :mod:`gradekit.core.libraries`): checks that ask for a
#: seed seed torch too (a model's initial weights); tensors cross to and from the student's
#: process as arrays, keeping ``requires_grad`` (a Parameter arrives as a tensor); the feedback
#: may show torch's type names and its messages about autograd, losses, shapes and dtypes.
TORCH = Libraries(
    seed_functions=("torch.manual_seed",),
    array_types=(
        ArrayType(
            name="torch.Tensor",
            from_numpy="torch.from_numpy",
            to_numpy=("detach", "cpu", "numpy"),
            attributes=("requires_grad",),
        ),
    ),
    type_names=frozenset({"Tensor", "torch.Tensor", "Parameter", "Float", "Double", "Long"}),
    messages={
        "RuntimeError": (
            "element 0 of tensors does not require grad and does not have a grad_fn",
            "all elements of input should be between 0 and 1",
            "a leaf Variable that requires grad is being used in an in-place operation.",
            "mat1 and mat2 shapes cannot be multiplied ({int:a}x{int:b} and {int:c}x{int:d})",
            "mat1 and mat2 must have the same dtype, but got {name:a} and {name:b}",
            "The size of tensor a ({int:a}) must match the size of tensor b ({int:b}) at "
            "non-singleton dimension {int:c}",
        ),
    },
)

#: What the engine needs to know to grade this assignment (see :mod:`gradekit.core.plans`).
ASSIGNMENT = Assignment(
    cells={
        grade_id: CellRule(
            grades=names,
            replaces=USES_REFERENCE.get(grade_id, ()),
            reference=REFERENCE_IN_PROCESS.get(grade_id, ()),
            without=() if grade_id in TORCH_ITEMS else FROM_SCRATCH_WITHOUT,
        )
        for grade_id, names in GRADED_NAMES.items()
    },
    reference=REFERENCE_PACKAGE,
    answers=REFERENCE_ANSWERS,
    libraries=TORCH,
)

#: Seed of the hidden inputs; each check draws from its own generator derived from it.
DEFAULT_SEED = 5


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--grader-seed", type=int, default=DEFAULT_SEED, help="seed of hidden inputs")


@pytest.fixture(scope="session")
def assignment() -> Assignment:
    """The declaration the engine groups this notebook's student processes by."""
    return ASSIGNMENT


@pytest.fixture
def student(student_process: Submission, grade_item: str) -> Student:
    """The student's code as this check sees it: earlier items replaced by reference versions."""
    return Student(student_process, substitute=USES_REFERENCE.get(grade_item, ()))


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator for this check's hidden inputs (stable for a given seed and check)."""
    seed = request.config.getoption("--grader-seed")
    digest = hashlib.sha256(f"{seed}:{request.node.nodeid}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
