"""The style bank: correct submissions that differ from the instructor's only in how ordinary
notebook code is written (module-level constants, helpers and objects in any cell, imports in
another cell, ``from numpy import ...``, ``import numpy`` unaliased, decorators, ``functools``,
dataclasses, a subclass in a later cell, a helper shared by two graded items, ``by_hand``
computed with NumPy, type hints, docstrings, prints inside methods, boolean and float masks,
caches under other names, a ``(1, 1)`` bias gradient or a Python float where the API allows a
scalar, NumPy floats for floats, int32 labels, int and boolean masks).

Every style must get exactly the marks of the instructor's solution, through ``nbgrader
autograde`` and through ``gradekit autograde --grades-only`` (``tests/course/test_style_bank.py``).
The edits of one notebook's styles touch different text, so that :func:`batches` can hand several
of them in as one submission.
"""

from __future__ import annotations

from synthetic.banks import (
    ACTS,
    DERIVS,
    EXPERIMENT,
    FWD,
    HAND,
    L2,
    LOGREG,
    MC,
    NB1,
    NB2,
    NB3,
    NN,
    SNAPSHOT,
    TORCH_MLP,
    Edit,
    Variant,
    alternative,
)

style = alternative

STYLES: list[Variant] = [
    # -- notebook 1 --------------------------------------------------------------------------
    style(
        "logreg-module-constants-above-the-class",
        NB1,
        Edit(
            LOGREG,
            "class LogisticRegression:",
            "CLIP = 1e-7\nZ_LIMIT = float(500)\n\n\nclass LogisticRegression:",
        ),
        Edit(LOGREG, "np.clip(z, -500, 500)", "np.clip(z, -Z_LIMIT, Z_LIMIT)"),
        Edit(LOGREG, "np.clip(y_pred, 1e-7, 1 - 1e-7)", "np.clip(y_pred, CLIP, 1 - CLIP)"),
    ),
    style(
        "logreg-type-hints-and-docstrings",
        NB1,
        Edit(
            LOGREG,
            "    def forward(self, X):",
            "    def forward(self, X: np.ndarray) -> np.ndarray:",
        ),
        Edit(
            LOGREG,
            "    def predict(self, X):",
            "    def predict(self, X: np.ndarray) -> np.ndarray:",
        ),
        Edit(
            LOGREG,
            "        z = X @ self.W + self.b\n",
            '        """(The pre-activation z has shape (m, 1).)"""\n        z = X @ self.W + self.b\n',
        ),
    ),
    style(
        "logreg-print-inside-init",
        NB1,
        Edit(
            LOGREG,
            "        self.accuracies = []\n",
            '        self.accuracies = []\n        print(f"LogisticRegression({n_features} features, lr={lr})")\n',
        ),
    ),
    style(
        "logreg-bias-gradient-of-shape-1-1",
        NB1,
        Edit(
            LOGREG,
            "db = (1 / m) * np.sum(y_pred - y_true)",
            "db = np.mean(y_pred - y_true, axis=0, keepdims=True)",
        ),
    ),
    style(
        "leaky-relu-default-from-a-constant-of-an-earlier-cell",
        NB1,
        Edit(
            LOGREG,
            "class LogisticRegression:",
            "DEFAULT_ALPHA = 0.01\n\n\nclass LogisticRegression:",
        ),
        Edit(ACTS, "def leaky_relu(x, alpha=0.01):", "def leaky_relu(x, alpha=DEFAULT_ALPHA):"),
        Edit(
            DERIVS,
            "def leaky_relu_derivative(x, alpha=0.01):",
            "def leaky_relu_derivative(x, alpha=DEFAULT_ALPHA):",
        ),
    ),
    style(
        "activations-with-numpy-unaliased",
        NB1,
        Edit(ACTS, "def relu(x):", "import numpy\n\n\ndef relu(x):"),
        Edit(ACTS, "return np.maximum(0, x)", "return numpy.maximum(0, x)"),
        Edit(ACTS, "return np.tanh(x)", "return numpy.tanh(x)"),
    ),
    style(
        "sigmoid-with-from-numpy-import",
        NB1,
        Edit(ACTS, "def sigmoid(x):", "from numpy import clip, exp\n\n\ndef sigmoid(x):"),
        Edit(
            ACTS,
            "    x = np.clip(x, -500, 500)\n    return 1 / (1 + np.exp(-x))",
            "    x = clip(x, -500, 500)\n    return 1 / (1 + exp(-x))",
        ),
    ),
    style(
        "helper-shared-by-activations-and-derivatives",
        NB1,
        Edit(
            ACTS,
            "def leaky_relu(",
            "def is_positive(x):\n    return np.asarray(x) > 0\n\n\ndef leaky_relu(",
        ),
        Edit(ACTS, "np.where(x > 0, x, alpha * x)", "np.where(is_positive(x), x, alpha * x)"),
        Edit(DERIVS, "np.where(x > 0, 1.0, alpha)", "np.where(is_positive(x), 1.0, alpha)"),
    ),
    style(
        "relu-derivative-as-a-boolean-mask-cast-to-float",
        NB1,
        Edit(
            DERIVS, "return np.where(x > 0, 1.0, 0.0)", "return (np.asarray(x) > 0).astype(float)"
        ),
    ),
    style(
        "relu-derivative-as-an-int-mask",
        NB1,
        Edit(DERIVS, "return np.where(x > 0, 1.0, 0.0)", "return (np.asarray(x) > 0).astype(int)"),
    ),
    style(
        "logreg-bias-gradient-as-a-python-float",
        NB1,
        Edit(
            LOGREG, "db = (1 / m) * np.sum(y_pred - y_true)", "db = float(np.mean(y_pred - y_true))"
        ),
    ),
    style(
        "logreg-accuracy-as-a-numpy-float-and-int32-labels",
        NB1,
        Edit(
            LOGREG,
            "return float(np.mean(predictions == y_true) * 100)",
            "return np.mean(predictions == y_true) * 100",
        ),
        Edit(
            LOGREG,
            "return (self.forward(X) >= 0.5).astype(int)",
            "return (self.forward(X) >= 0.5).astype(np.int32)",
        ),
    ),
    style(
        "tanh-derivative-behind-a-functools-decorator",
        NB1,
        Edit(
            DERIVS,
            "def tanh_derivative(x):",
            "import functools\n\n\ndef as_float_array(function):\n"
            "    @functools.wraps(function)\n    def wrapper(x, *args, **kwargs):\n"
            "        return function(np.asarray(x, dtype=float), *args, **kwargs)\n\n"
            "    return wrapper\n\n\n@as_float_array\ndef tanh_derivative(x):",
        ),
    ),
    style(
        "forward-example-with-a-dataclass-layer",
        NB1,
        Edit(
            FWD,
            "def two_layer_forward(",
            "from dataclasses import dataclass\n\n\n@dataclass\nclass Dense:\n"
            '    """z = a @ W + b."""\n\n    W: np.ndarray\n    b: np.ndarray\n\n'
            "    def __call__(self, a: np.ndarray) -> np.ndarray:\n        return a @ self.W + self.b\n\n\n"
            "def two_layer_forward(",
        ),
        Edit(FWD, "z1 = X @ W1 + b1", "z1 = Dense(W1, b1)(X)"),
        Edit(FWD, "z2 = a1 @ W2 + b2", "z2 = Dense(W2, b2)(a1)"),
    ),
    style(
        "by-hand-computed-with-numpy",
        NB1,
        Edit(HAND, '"tanh(1)": 0.7616,', '"tanh(1)": round(float(np.tanh(1.0)), 4),'),
        Edit(HAND, '"sigmoid(0)": 0.5,', '"sigmoid(0)": float(1 / (1 + np.exp(-0.0))),'),
    ),
    style(
        "by-hand-with-the-students-own-functions",
        NB1,
        Edit(HAND, '"relu(2)": 2.0,', '"relu(2)": float(relu(2.0)),'),
        Edit(
            HAND,
            '"relu_layer": [1.2, 0.8],',
            '"relu_layer": [float(v) for v in relu(np.array([1.2, 0.8]))],',
        ),
    ),
    # -- notebook 2 --------------------------------------------------------------------------
    style(
        "nn-module-level-random-generator-and-eps",
        NB2,
        Edit(
            NN,
            "class NeuralNetwork:",
            "EPS = np.finfo(float).eps\n_rng = np.random.default_rng(0)\n\n\nclass NeuralNetwork:",
        ),
        Edit(
            NN,
            "        self.lr = learning_rate\n",
            "        self.lr = learning_rate\n        self.rng, self.eps = _rng, EPS\n",
        ),
    ),
    style(
        "nn-activations-from-a-dict-of-functions",
        NB2,
        Edit(
            NN,
            "class NeuralNetwork:",
            "ACTIVATIONS = dict(relu=relu, tanh=tanh, sigmoid=sigmoid)\n\n\nclass NeuralNetwork:",
        ),
        Edit(
            NN,
            '            if self.activation_name == "relu":\n                a = relu(z)\n'
            '            elif self.activation_name == "tanh":\n                a = tanh(z)\n'
            '            elif self.activation_name == "sigmoid":\n                a = sigmoid(z)\n'
            "            else:\n",
            "            if self.activation_name in ACTIVATIONS:\n"
            "                a = ACTIVATIONS[self.activation_name](z)\n            else:\n",
        ),
    ),
    style(
        "nn-initialisation-by-a-module-level-helper-object",
        NB2,
        Edit(
            NN,
            "class NeuralNetwork:",
            "class Initialiser:\n    def __init__(self, gains):\n        self.gains = gains\n\n"
            "    def scale(self, activation, fan_in):\n"
            "        return np.sqrt(self.gains.get(activation, 1.0) / fan_in)\n\n\n"
            'INIT = Initialiser({"relu": 2.0})\n\n\nclass NeuralNetwork:',
        ),
        Edit(
            NN,
            '            if activation == "relu":\n'
            "                scale = np.sqrt(2.0 / layer_sizes[i])  # He initialisation\n"
            "            else:\n"
            "                scale = np.sqrt(1.0 / layer_sizes[i])  # Xavier/LeCun initialisation\n",
            "            scale = INIT.scale(activation, layer_sizes[i])\n",
        ),
    ),
    style(
        "nn-print-inside-methods",
        NB2,
        Edit(
            NN,
            "        ### END SOLUTION\n\n    def forward(self, X):",
            '        print(f"NeuralNetwork({layer_sizes}, {activation})")\n'
            "        ### END SOLUTION\n\n    def forward(self, X):",
        ),
    ),
    style(
        "nn-subclass-in-a-later-cell",
        NB2,
        Edit(
            TORCH_MLP,
            "class PyTorchMLP(nn.Module):",
            "class NeuralNetwork(NeuralNetwork):\n"
            '    """The same network, with a summary."""\n\n'
            "    def summary(self) -> str:\n"
            '        return f"{self.layer_sizes} ({self.activation_name})"\n\n\n'
            "class PyTorchMLP(nn.Module):",
        ),
    ),
    style(
        "pytorch-mlp-module-level-table-and-type-hints",
        NB2,
        Edit(
            TORCH_MLP,
            "class PyTorchMLP(nn.Module):",
            'TORCH_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}\n\n\n'
            "class PyTorchMLP(nn.Module):",
        ),
        Edit(
            TORCH_MLP,
            "layers.append(activations[activation]())",
            "layers.append(TORCH_ACTIVATIONS[activation]())",
        ),
        Edit(
            TORCH_MLP,
            "    def forward(self, x):",
            "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        ),
    ),
    style(
        "nn-loss-as-a-numpy-float",
        NB2,
        Edit(
            NN,
            "return float(-np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred)))",
            "return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))",
        ),
    ),
    # -- notebook 3 --------------------------------------------------------------------------
    style(
        "mc-one-hot-helper-shared-by-loss-and-backward",
        NB3,
        Edit(
            MC,
            "class MultiClassNeuralNetwork:",
            "def one_hot(labels, k):\n    return np.eye(k)[np.asarray(labels).astype(int)]\n\n\n"
            "class MultiClassNeuralNetwork:",
        ),
        Edit(
            MC,
            "y_true = np.eye(y_pred.shape[1])[y_true.astype(int)]",
            "y_true = one_hot(y_true, y_pred.shape[1])",
        ),
        Edit(
            MC,
            "y_true = np.eye(self.weights[-1].shape[1])[y_true.astype(int)]",
            "y_true = one_hot(y_true, self.weights[-1].shape[1])",
        ),
    ),
    style(
        "mc-softmax-as-a-staticmethod",
        NB3,
        Edit(MC, "    def softmax(self, z):", "    @staticmethod\n    def softmax(z):"),
    ),
    style(
        "mc-predictions-as-int32",
        NB3,
        Edit(
            MC,
            "return np.argmax(self.forward(X), axis=1)",
            "return np.argmax(self.forward(X), axis=1).astype(np.int32)",
        ),
    ),
    style(
        "experiments-with-functools-partial",
        NB3,
        Edit(
            EXPERIMENT,
            "def run_experiment(",
            "import functools\n\nquiet_fit = functools.partial(NeuralNetwork.fit, verbose=False)\n\n\n"
            "def run_experiment(",
        ),
        Edit(
            EXPERIMENT,
            "network.fit(X, y, epochs=epochs, verbose=False)",
            "quiet_fit(network, X, y, epochs=epochs)",
        ),
    ),
    style(
        "experiments-summary-as-a-dataclass",
        NB3,
        Edit(
            EXPERIMENT,
            "def run_experiment(",
            "from dataclasses import asdict, dataclass\n\n\n@dataclass\nclass RunSummary:\n"
            "    final_loss: float\n    final_accuracy: float\n    losses: list\n\n\n"
            "def run_experiment(",
        ),
        Edit(
            EXPERIMENT,
            '    return {\n        "final_loss": float(network.losses[-1]),\n'
            '        "final_accuracy": float(network.accuracies[-1]),\n'
            '        "losses": [float(loss) for loss in network.losses],\n    }',
            "    return asdict(\n        RunSummary(\n"
            "            final_loss=float(network.losses[-1]),\n"
            "            final_accuracy=float(network.accuracies[-1]),\n"
            "            losses=[float(loss) for loss in network.losses],\n        )\n    )",
        ),
    ),
    style(
        "l2-with-numpy-imported-in-another-cell",
        NB3,
        Edit(
            MC,
            "class MultiClassNeuralNetwork:",
            "import numpy as xp\n\n\nclass MultiClassNeuralNetwork:",
        ),
        Edit(
            L2, "sum(np.sum(W**2) for W in self.weights)", "sum(xp.sum(W**2) for W in self.weights)"
        ),
    ),
    style(
        "l2-with-type-hints",
        NB3,
        Edit(
            L2,
            '    def __init__(self, layer_sizes, activation="relu", learning_rate=0.01, l2_lambda=0.0):',
            "    def __init__(\n        self,\n        layer_sizes: list[int],\n"
            '        activation: str = "relu",\n        learning_rate: float = 0.01,\n'
            "        l2_lambda: float = 0.0,\n    ) -> None:",
        ),
    ),
    style(
        "snapshot-with-copy-deepcopy",
        NB3,
        Edit(
            SNAPSHOT,
            "def snapshot_weights(network):",
            "import copy\n\n\ndef snapshot_weights(network):",
        ),
        Edit(
            SNAPSHOT,
            "return [W.copy() for W in network.weights]",
            "return copy.deepcopy(list(network.weights))",
        ),
    ),
]


def batches(styles: list[Variant]) -> list[Variant]:
    """The styles of each notebook merged into as few submissions as their edits allow (each
    edit's text must still be found once after the edits before it)."""
    merged: dict[str, list[list[Variant]]] = {}
    for variant in styles:
        groups = merged.setdefault(variant.notebook, [])
        for group in groups:
            if _applies([*group, variant]):
                group.append(variant)
                break
        else:
            groups.append([variant])
    return [
        Variant("+".join(v.id for v in group), notebook, tuple(e for v in group for e in v.edits))
        for notebook, groups in merged.items()
        for group in groups
    ]


def _applies(group: list[Variant]) -> bool:
    from synthetic.banks import student_notebook

    combined = Variant("batch", group[0].notebook, tuple(e for v in group for e in v.edits))
    try:
        student_notebook(combined)
    except ValueError:
        return False
    return True
