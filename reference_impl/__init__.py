"""Reference implementation of the ``mlp_from_scratch`` assignment (lecture 5), NumPy only.

Implements every name of ``student_api.md`` (activations and their derivatives,
``LogisticRegression``, ``NeuralNetwork``, ``MultiClassNeuralNetwork``) and of
``docs/assignment_api.md`` (``two_layer_forward``, ``BY_HAND_ANSWERS`` for the ``by_hand`` item,
``run_experiment``, ``NeuralNetworkL2``, ``snapshot_weights``), following the lecture's formulas
and conventions, plus the functional core the classes are built on and a gradient checker. The
graders compare student submissions with it; ``tests/course/test_reference_*.py`` compare it with
PyTorch autograd in float64.

Modules, one per concept: ``activations``, ``derivatives``, ``losses``, ``logistic``,
``network_core`` (the functional core of the networks), ``networks`` (the classes), ``practice``,
``by_hand`` (the by-hand answers), ``gradcheck``. The graders ship some of these modules into a
student's process (see ``grader_tests/conftest.py``): keep each graded item's answers in modules of
their own.
"""

from .activations import FloatArray, leaky_relu, relu, sigmoid, tanh
from .by_hand import BY_HAND_ANSWERS
from .derivatives import (
    leaky_relu_derivative,
    relu_derivative,
    sigmoid_derivative,
    tanh_derivative,
)
from .gradcheck import numerical_gradient, relative_error
from .logistic import LogisticRegression
from .losses import (
    EPS,
    as_binary_labels,
    as_class_ids,
    as_one_hot,
    binary_accuracy,
    binary_cross_entropy,
    categorical_accuracy,
    categorical_cross_entropy,
    one_hot,
    softmax,
)
from .network_core import HIDDEN_ACTIVATIONS, ForwardCache, backward, forward, init_parameters
from .networks import MultiClassNeuralNetwork, NeuralNetwork
from .practice import (
    ExperimentResult,
    NeuralNetworkL2,
    run_experiment,
    snapshot_weights,
    two_layer_forward,
)

__all__ = [
    "BY_HAND_ANSWERS",
    "EPS",
    "HIDDEN_ACTIVATIONS",
    "ExperimentResult",
    "FloatArray",
    "ForwardCache",
    "LogisticRegression",
    "MultiClassNeuralNetwork",
    "NeuralNetwork",
    "NeuralNetworkL2",
    "as_binary_labels",
    "as_class_ids",
    "as_one_hot",
    "backward",
    "binary_accuracy",
    "binary_cross_entropy",
    "categorical_accuracy",
    "categorical_cross_entropy",
    "forward",
    "init_parameters",
    "leaky_relu",
    "leaky_relu_derivative",
    "numerical_gradient",
    "one_hot",
    "relative_error",
    "relu",
    "relu_derivative",
    "run_experiment",
    "sigmoid",
    "sigmoid_derivative",
    "snapshot_weights",
    "softmax",
    "tanh",
    "tanh_derivative",
    "two_layer_forward",
]
