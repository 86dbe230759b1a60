"""Fixtures of the hidden checks of the ``mlp_from_scratch`` assignment.

Run one notebook's checks with ``pytest grader_tests --notebook PATH`` (the engine's pytest plugin,
:mod:`gradekit.pytest_plugin`, loads the notebook's definitions into a separate process). Each
check is marked with the grade id of the cell it counts for (``@pytest.mark.activations``) and
may carry ``@pytest.mark.weight(w)``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from gradekit.remote import Student, Submission
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
    "pytorch_mlp": ("PyTorchMLP",),
    "mc_softmax_loss": ("MultiClassNeuralNetwork",),
    "mc_backward": ("MultiClassNeuralNetwork",),
    "mc_training": ("MultiClassNeuralNetwork",),
    "pytorch_multiclass": ("PyTorchMultiClassMLP",),
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
    "mc_softmax_loss": ACTIVATION_NAMES,
    "mc_backward": ACTIVATION_NAMES,
    "mc_training": ACTIVATION_NAMES,
    "experiments": ("NeuralNetwork", *ACTIVATION_NAMES),
    "l2_regularisation": ("NeuralNetwork", *ACTIVATION_NAMES),
    "weight_snapshot": ("NeuralNetwork", *ACTIVATION_NAMES),
}

#: Seed of the hidden inputs; each check draws from its own generator derived from it.
DEFAULT_SEED = 5


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--grader-seed", type=int, default=DEFAULT_SEED, help="seed of hidden inputs")


def pytest_configure(config: pytest.Config) -> None:
    for grade_id in GRADED_NAMES:
        config.addinivalue_line("markers", f"{grade_id}: checks of the grade cell '{grade_id}'")


def provided_names(grade_ids: list[str]) -> tuple[str, ...]:
    """Names this notebook relies on but does not grade: the reference versions are put in place
    before its definitions load (a later notebook does not have to re-define earlier items)."""
    graded = {name for grade_id in grade_ids for name in GRADED_NAMES.get(grade_id, ())}
    needed = dict.fromkeys(
        name for grade_id in grade_ids for name in USES_REFERENCE.get(grade_id, ())
    )
    return tuple(name for name in needed if name not in graded)


@pytest.fixture(scope="session")
def submission(load_submission, notebook_grade_ids: list[str]) -> Submission:
    """The notebook under grading, loaded into its own process."""
    return load_submission(reference=REFERENCE_PACKAGE, provided=provided_names(notebook_grade_ids))


#: Packages a from-scratch item may not call while the checks run it (the runtime guard; the
#: source scan of ``test_integrity.py`` is the other half).
FROM_SCRATCH_RUNTIME_FORBIDDEN = ("torch", "sklearn")


@pytest.fixture
def student(submission: Submission, grade_item: str) -> Student:
    """The student's code as this check sees it: earlier items replaced by reference versions,
    and every call watched for forbidden shortcuts."""
    forbid = () if grade_item in TORCH_ITEMS else FROM_SCRATCH_RUNTIME_FORBIDDEN
    return Student(submission, substitute=USES_REFERENCE.get(grade_item, ()), forbid=forbid)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator for this check's hidden inputs (stable for a given seed and check)."""
    seed = request.config.getoption("--grader-seed")
    digest = hashlib.sha256(f"{seed}:{request.node.nodeid}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
