"""Reference implementation of the ``mlp_from_scratch`` assignment (lecture 5), NumPy only.

Implements every name of ``student_api.md`` (activations and their derivatives,
``LogisticRegression``, ``NeuralNetwork``, ``MultiClassNeuralNetwork``) and of
``docs/assignment_api.md`` (``two_layer_forward``, ``BY_HAND_ANSWERS`` for the ``by_hand`` item,
``run_experiment``, ``NeuralNetworkL2``, ``snapshot_weights``), following the lecture's formulas
and conventions, plus the functional core the classes are built on and a gradient checker. The
graders compare student submissions with it; ``tests/test_reference_*.py`` compare it with
PyTorch autograd in float64.

Modules: ``activations``, ``losses``, ``logistic``, ``networks``, ``practice``, ``gradcheck``.
"""

from .activations import (
    FloatArray,
    leaky_relu,
    leaky_relu_derivative,
    relu,
    relu_derivative,
    sigmoid,
    sigmoid_derivative,
    tanh,
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
from .networks import (
    HIDDEN_ACTIVATIONS,
    ForwardCache,
    MultiClassNeuralNetwork,
    NeuralNetwork,
    backward,
    forward,
    init_parameters,
)
from .practice import (
    BY_HAND_ANSWERS,
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
