"""Banks of realistic submissions, each the instructor's solution with small edits.

``BUGS``: one realistic mistake each; the grade cell that tests the buggy item must lose points,
and every other grade cell must keep full marks, except the cells listed in ``also`` (each with the
reason the dependency cannot be avoided). ``ALTERNATIVES``: other correct ways to write the same
thing; every grade cell must keep full marks.

:func:`student_notebook` turns the release notebook plus the instructor's (edited) solutions into
what a student would hand in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

SOURCE = Path(__file__).resolve().parent.parent / "source" / "mlp_from_scratch"
RELEASE = Path(__file__).resolve().parent.parent / "release" / "mlp_from_scratch"
NB1 = "01_linear_models_and_activations"
NB2 = "02_neural_network_from_scratch"
NB3 = "03_multiclass_and_experiments"

FIT_NEEDS_GRADIENTS = "fit and the lecture's results need correct gradients"
BACKWARD_NEEDS_FORWARD = "backward uses the caches of the student's own forward"


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` by ``new`` in the solution cell ``cell`` (every occurrence if ``every``)."""

    cell: str
    old: str
    new: str
    every: bool = False


@dataclass(frozen=True)
class Variant:
    """A submission: the instructor's notebook with edits."""

    id: str
    notebook: str
    edits: tuple[Edit, ...]
    item: str = ""  # the grade cell that must lose points (bugs only)
    also: dict[str, str] = field(default_factory=dict)  # further cells that may lose, and why


def bug(
    id: str, notebook: str, item: str, *edits: Edit, also: dict[str, str] | None = None
) -> Variant:
    return Variant(id, notebook, edits, item, also or {})


def alternative(id: str, notebook: str, *edits: Edit) -> Variant:
    return Variant(id, notebook, edits)


LOGREG, ACTS, DERIVS, FWD, HAND = (
    "logistic_regression",
    "activation_functions",
    "activation_derivatives",
    "forward_example_solution",
    "by_hand_solution",
)
NN, TORCH_MLP = "neural_network", "pytorch_mlp_solution"
GRADCHECK, TORCH_TRAIN, VALIDATION = (
    "gradient_check_solution",
    "pytorch_training_solution",
    "pytorch_validation_solution",
)
TORCH_MC_TRAIN = "pytorch_multiclass_training_solution"
MC, TORCH_MC, EXPERIMENT, L2, SNAPSHOT = (
    "multiclass_network",
    "pytorch_multiclass_solution",
    "experiments_solution",
    "l2_solution",
    "snapshot_solution",
)

BUGS: list[Variant] = [
    # -- notebook 1 --------------------------------------------------------------------------
    bug(
        "relu-python-max",
        NB1,
        "activations",
        Edit(ACTS, "return np.maximum(0, x)", "return max(0, x)"),
    ),
    bug(
        "sigmoid-sign-flipped",
        NB1,
        "activations",
        Edit(ACTS, "    return 1 / (1 + np.exp(-x))", "    return 1 / (1 + np.exp(x))"),
    ),
    bug(
        "leaky-relu-alpha-on-positive-side",
        NB1,
        "activations",
        Edit(ACTS, "np.where(x > 0, x, alpha * x)", "np.where(x > 0, alpha * x, x)"),
    ),
    bug(
        "tanh-overflows",
        NB1,
        "activations",
        Edit(
            ACTS, "return np.tanh(x)", "return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))"
        ),
    ),
    bug(
        "relu-derivative-one-at-zero",
        NB1,
        "derivatives",
        Edit(DERIVS, "np.where(x > 0, 1.0, 0.0)", "np.where(x >= 0, 1.0, 0.0)"),
    ),
    bug(
        "tanh-derivative-of-x",
        NB1,
        "derivatives",
        Edit(DERIVS, "return 1 - np.tanh(x) ** 2", "return 1 - x ** 2"),
    ),
    bug(
        "sigmoid-derivative-of-x",
        NB1,
        "derivatives",
        Edit(DERIVS, "s = sigmoid(x)\n    return s * (1 - s)", "return x * (1 - x)"),
    ),
    bug(
        "leaky-relu-derivative-zero-for-negatives",
        NB1,
        "derivatives",
        Edit(DERIVS, "np.where(x > 0, 1.0, alpha)", "np.where(x > 0, 1.0, 0.0)"),
    ),
    bug(
        "forward-example-sigmoid-hidden",
        NB1,
        "forward_example",
        Edit(FWD, "    a1 = relu(z1)\n", "    a1 = sigmoid(z1)\n"),
    ),
    bug(
        "forward-example-no-output-bias",
        NB1,
        "forward_example",
        Edit(FWD, "z2 = a1 @ W2 + b2", "z2 = a1 @ W2"),
    ),
    bug(
        "by-hand-sine-for-tanh",
        NB1,
        "by_hand",
        Edit(HAND, '"tanh(1)": 0.7616', '"tanh(1)": 0.8415'),
    ),
    bug(
        "logreg-gradient-without-mean",
        NB1,
        "logreg_training",
        Edit(LOGREG, "dW = (1 / m) * (X.T @ (y_pred - y_true))", "dW = X.T @ (y_pred - y_true)"),
    ),
    bug(
        "logreg-bias-not-updated",
        NB1,
        "logreg_training",
        Edit(LOGREG, "self.b -= self.lr * db", "pass  # the bias stays"),
    ),
    bug(
        "logreg-gradient-ascent",
        NB1,
        "logreg_training",
        Edit(LOGREG, "self.W -= self.lr * dW", "self.W += self.lr * dW"),
    ),
    bug(
        "logreg-loss-summed",
        NB1,
        "logreg_predictions",
        Edit(LOGREG, "return float(-np.mean(y_true", "return float(-np.sum(y_true"),
    ),
    bug(
        "logreg-accuracy-as-fraction",
        NB1,
        "logreg_predictions",
        Edit(
            LOGREG,
            "return float(np.mean(predictions == y_true) * 100)",
            "return float(np.mean(predictions == y_true))",
        ),
    ),
    bug(
        "logreg-forward-without-bias",
        NB1,
        "logreg_predictions",
        Edit(LOGREG, "z = X @ self.W + self.b", "z = X @ self.W"),
        also={"logreg_training": "fit trains through the student's own forward"},
    ),
    # -- notebook 2 --------------------------------------------------------------------------
    bug(
        "nn-init-unscaled",
        NB2,
        "nn_init",
        Edit(
            NN,
            "np.random.randn(layer_sizes[i], layer_sizes[i + 1]) * scale",
            "np.random.randn(layer_sizes[i], layer_sizes[i + 1])",
        ),
    ),
    bug(
        "nn-init-xavier-for-relu",
        NB2,
        "nn_init",
        Edit(NN, "scale = np.sqrt(2.0 / layer_sizes[i])", "scale = np.sqrt(1.0 / layer_sizes[i])"),
    ),
    bug(
        "nn-init-uniform",
        NB2,
        "nn_init",
        Edit(
            NN,
            "np.random.randn(layer_sizes[i], layer_sizes[i + 1]) * scale",
            "np.random.uniform(-1, 1, (layer_sizes[i], layer_sizes[i + 1])) * scale * np.sqrt(3)",
        ),
    ),
    bug(
        "nn-forward-no-output-sigmoid",
        NB2,
        "nn_forward",
        Edit(NN, "output = sigmoid(z_output)", "output = z_output"),
        also={"nn_backward": BACKWARD_NEEDS_FORWARD, "nn_training": FIT_NEEDS_GRADIENTS},
    ),
    bug(
        "nn-forward-hidden-bias-missing",
        NB2,
        "nn_forward",
        Edit(
            NN,
            "z = self.activations[-1] @ self.weights[i] + self.biases[i]",
            "z = self.activations[-1] @ self.weights[i]",
        ),
        also={"nn_backward": BACKWARD_NEEDS_FORWARD, "nn_training": FIT_NEEDS_GRADIENTS},
    ),
    bug(
        "nn-loss-not-clipped",
        NB2,
        "nn_forward",
        Edit(
            NN,
            "        y_pred = np.clip(y_pred, 1e-7, 1 - 1e-7)\n        return float(-np.mean",
            "        return float(-np.mean",
        ),
    ),
    bug(
        "nn-accuracy-strict-threshold",
        NB2,
        "nn_forward",
        Edit(
            NN,
            "        predictions = (y_pred >= 0.5).astype(int)",
            "        predictions = (y_pred > 0.5).astype(int)",
        ),
    ),
    bug(
        "nn-backward-without-mean",
        NB2,
        "nn_backward",
        Edit(
            NN,
            "dW[layer] = (1 / m) * (self.activations[layer].T @ dZ)",
            "dW[layer] = self.activations[layer].T @ dZ",
        ),
        also={"nn_training": FIT_NEEDS_GRADIENTS},
    ),
    bug(
        "nn-backward-derivative-at-activation",
        NB2,
        "nn_backward",
        Edit(NN, "z_prev = self.z_values[layer - 1]", "z_prev = self.activations[layer]"),
        also={"nn_training": FIT_NEEDS_GRADIENTS},
    ),
    bug(
        "nn-backward-bias-gradient-summed-over-everything",
        NB2,
        "nn_backward",
        Edit(
            NN,
            "db[layer] = (1 / m) * np.sum(dZ, axis=0, keepdims=True)",
            "db[layer] = (1 / m) * np.sum(dZ)",
        ),
        also={"nn_training": FIT_NEEDS_GRADIENTS},
    ),
    bug(
        "nn-backward-weights-not-transposed",
        NB2,
        "nn_backward",
        Edit(NN, "dA_prev = dZ @ self.weights[layer].T", "dA_prev = dZ @ self.weights[layer]"),
        also={"nn_training": FIT_NEEDS_GRADIENTS},
    ),
    bug(
        "nn-biases-not-updated",
        NB2,
        "nn_training",
        Edit(NN, "            self.biases[i] -= self.lr * db[i]\n", ""),
    ),
    bug(
        "nn-predict-returns-probabilities",
        NB2,
        "nn_training",
        Edit(
            NN,
            "        return (self.forward(X) >= 0.5).astype(int)",
            "        return self.forward(X)",
        ),
    ),
    bug(
        "nn-fit-records-after-update",
        NB2,
        "nn_training",
        Edit(
            NN,
            "            self.losses.append(loss)\n            self.accuracies.append(accuracy)\n            dW, db = self.backward(X, y)\n            self.update_parameters(dW, db)\n",
            "            dW, db = self.backward(X, y)\n            self.update_parameters(dW, db)\n            y_pred = self.forward(X)\n            self.losses.append(self.compute_loss(y_pred, y))\n            self.accuracies.append(self.compute_accuracy(y_pred, y))\n",
        ),
    ),
    bug(
        "pytorch-mlp-activation-after-output",
        NB2,
        "pytorch_mlp",
        Edit(
            TORCH_MLP,
            "            if i < len(layer_sizes) - 2:  # hidden layers only\n                layers.append",
            "            layers.append",
        ),
    ),
    bug(
        "pytorch-mlp-returns-logits",
        NB2,
        "pytorch_mlp",
        Edit(TORCH_MLP, "return torch.sigmoid(self.network(x))", "return self.network(x)"),
    ),
]

BUGS += [
    # -- notebook 3 --------------------------------------------------------------------------
    bug(
        "softmax-without-max-shift",
        NB3,
        "mc_softmax_loss",
        Edit(MC, "z_stable = z - np.max(z, axis=1, keepdims=True)", "z_stable = z"),
    ),
    bug(
        "softmax-over-samples",
        NB3,
        "mc_softmax_loss",
        Edit(
            MC,
            "return exp_z / np.sum(exp_z, axis=1, keepdims=True)",
            "return exp_z / np.sum(exp_z, axis=0, keepdims=True)",
        ),
        also={"mc_backward": BACKWARD_NEEDS_FORWARD, "mc_training": FIT_NEEDS_GRADIENTS},
    ),
    bug(
        "cross-entropy-ignores-class-ids",
        NB3,
        "mc_softmax_loss",
        Edit(
            MC,
            "        if y_true.ndim == 1:\n            y_true = np.eye(y_pred.shape[1])[y_true.astype(int)]\n        y_pred = np.clip",
            "        y_pred = np.clip",
        ),
    ),
    bug(
        "accuracy-argmax-over-samples",
        NB3,
        "mc_softmax_loss",
        Edit(
            MC,
            "pred_classes = np.argmax(y_pred, axis=1)",
            "pred_classes = np.argmax(y_pred, axis=0)",
        ),
    ),
    bug(
        "mc-backward-without-mean",
        NB3,
        "mc_backward",
        Edit(
            MC,
            "dW[layer] = (1 / m) * (self.activations[layer].T @ dZ)",
            "dW[layer] = self.activations[layer].T @ dZ",
        ),
        also={"mc_training": FIT_NEEDS_GRADIENTS},
    ),
    bug(
        "mc-backward-ids-not-one-hot",
        NB3,
        "mc_backward",
        Edit(
            MC,
            "        if y_true.ndim == 1:\n            y_true = np.eye(self.weights[-1].shape[1])[y_true.astype(int)]\n        dW =",
            "        dW =",
        ),
        also={"mc_training": "the lecture's Iris run passes class ids to backward"},
    ),
    bug(
        "mc-predict-returns-probabilities",
        NB3,
        "mc_training",
        Edit(MC, "return np.argmax(self.forward(X), axis=1)", "return self.forward(X)"),
    ),
    bug(
        "pytorch-multiclass-softmax-output",
        NB3,
        "pytorch_multiclass",
        Edit(
            TORCH_MC,
            "        return self.network(x)",
            "        return torch.softmax(self.network(x), dim=1)",
        ),
    ),
    bug(
        "experiment-seeded-after-construction",
        NB3,
        "experiments",
        Edit(
            EXPERIMENT,
            "    np.random.seed(seed)\n    network = NeuralNetwork(layer_sizes, activation=activation, learning_rate=learning_rate)\n",
            "    network = NeuralNetwork(layer_sizes, activation=activation, learning_rate=learning_rate)\n    np.random.seed(seed)\n",
        ),
    ),
    bug(
        "experiment-first-loss-as-final",
        NB3,
        "experiments",
        Edit(
            EXPERIMENT,
            '"final_loss": float(network.losses[-1])',
            '"final_loss": float(network.losses[0])',
        ),
    ),
    bug(
        "l2-penalty-without-m",
        NB3,
        "l2_regularisation",
        Edit(L2, "penalty = self.l2_lambda / (2 * m) * sum", "penalty = self.l2_lambda / 2 * sum"),
    ),
    bug(
        "l2-gradient-on-biases-too",
        NB3,
        "l2_regularisation",
        Edit(
            L2,
            "        return dW, db\n",
            "        db = [db_i + self.l2_lambda / m * b for db_i, b in zip(db, self.biases)]\n        return dW, db\n",
        ),
    ),
    bug(
        "l2-gradient-sign-flipped",
        NB3,
        "l2_regularisation",
        Edit(L2, "dW = [dW_i + self.l2_lambda / m * W", "dW = [dW_i - self.l2_lambda / m * W"),
    ),
    bug(
        "snapshot-shares-arrays",
        NB3,
        "weight_snapshot",
        Edit(
            SNAPSHOT, "return [W.copy() for W in network.weights]", "return list(network.weights)"
        ),
    ),
]

ALTERNATIVES: list[Variant] = [
    alternative(
        "sigmoid-scipy-expit",
        NB1,
        Edit(
            ACTS,
            "    x = np.clip(x, -500, 500)\n    return 1 / (1 + np.exp(-x))",
            "    from scipy.special import expit\n\n    return expit(x)",
        ),
    ),
    alternative(
        "sigmoid-naive-warns-on-overflow",
        NB1,
        Edit(
            ACTS,
            "    x = np.clip(x, -500, 500)\n    return 1 / (1 + np.exp(-x))",
            "    return 1 / (1 + np.exp(-x))",
        ),
    ),
    alternative(
        "sigmoid-two-branches",
        NB1,
        Edit(
            ACTS,
            "    x = np.clip(x, -500, 500)\n    return 1 / (1 + np.exp(-x))",
            "    e = np.exp(-np.abs(x))\n    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))",
        ),
    ),
    alternative("relu-mask", NB1, Edit(ACTS, "return np.maximum(0, x)", "return x * (x > 0)")),
    alternative(
        "tanh-from-sigmoid", NB1, Edit(ACTS, "return np.tanh(x)", "return 2 * sigmoid(2 * x) - 1")
    ),
    alternative(
        "relu-derivative-heaviside",
        NB1,
        Edit(DERIVS, "np.where(x > 0, 1.0, 0.0)", "np.heaviside(x, 0.0)"),
    ),
    alternative(
        "sigmoid-derivative-symmetric",
        NB1,
        Edit(DERIVS, "s = sigmoid(x)\n    return s * (1 - s)", "return sigmoid(x) * sigmoid(-x)"),
    ),
    alternative(
        "logreg-bias-gradient-1x1",
        NB1,
        Edit(
            LOGREG,
            "db = (1 / m) * np.sum(y_pred - y_true)",
            "db = (1 / m) * np.sum(y_pred - y_true, axis=0, keepdims=True)",
        ),
    ),
    alternative(
        "nn-default-rng-init",
        NB2,
        Edit(
            NN,
            "self.weights.append(np.random.randn(layer_sizes[i], layer_sizes[i + 1]) * scale)",
            "self.weights.append(np.random.default_rng().standard_normal((layer_sizes[i], layer_sizes[i + 1])) * scale)",
        ),
    ),
    alternative(
        "nn-own-cache-layout",
        NB2,
        Edit(NN, "self.activations", "self._cache_a", every=True),
        Edit(NN, "self.z_values", "self._cache_z", every=True),
    ),
    alternative(
        "nn-activation-table",
        NB2,
        Edit(
            NN,
            """            if self.activation_name == "relu":
                a = relu(z)
            elif self.activation_name == "tanh":
                a = tanh(z)
            elif self.activation_name == "sigmoid":
                a = sigmoid(z)
            else:
                raise ValueError(f"unknown activation {self.activation_name!r}")
""",
            """            a = {"relu": relu, "tanh": tanh, "sigmoid": sigmoid}[self.activation_name](z)
""",
        ),
    ),
    alternative(
        "nn-verbose-every-epoch",
        NB2,
        Edit(NN, "if verbose and (epoch % 100 == 0 or epoch == epochs - 1):", "if True:"),
    ),
    alternative(
        "pytorch-mlp-module-list",
        NB2,
        Edit(
            TORCH_MLP,
            "self.network = nn.Sequential(*layers)",
            "self.layers = nn.ModuleList(layers)",
        ),
        Edit(
            TORCH_MLP,
            "return torch.sigmoid(self.network(x))",
            "for layer in self.layers:\n            x = layer(x)\n        return torch.sigmoid(x)",
        ),
    ),
]


ALTERNATIVES += [
    alternative(
        "mc-one-hot-by-comparison",
        NB3,
        Edit(
            MC,
            "            y_true = np.eye(self.weights[-1].shape[1])[y_true.astype(int)]",
            "            y_true = (y_true[:, None] == np.arange(self.weights[-1].shape[1])).astype(float)",
        ),
    ),
    alternative(
        "softmax-scipy",
        NB3,
        Edit(
            MC,
            "        z_stable = z - np.max(z, axis=1, keepdims=True)\n        exp_z = np.exp(z_stable)\n        return exp_z / np.sum(exp_z, axis=1, keepdims=True)",
            "        from scipy.special import softmax\n\n        return softmax(z, axis=1)",
        ),
    ),
    alternative(
        "snapshot-deepcopy",
        NB3,
        Edit(
            SNAPSHOT,
            "return [W.copy() for W in network.weights]",
            "import copy\n\n    return copy.deepcopy(network.weights)",
        ),
    ),
    alternative(  # a local variable that shares the name of the notebooks' `import torch.nn as nn`
        "nn-backward-with-a-local-named-nn",
        NB2,
        Edit(
            NN,
            "        m = len(y_true)\n",
            "        nn = len(self.weights)  # layers\n        m = len(y_true)\n",
        ),
        Edit(
            NN,
            "for layer in range(len(self.weights) - 1, -1, -1):",
            "for layer in range(nn - 1, -1, -1):",
        ),
    ),
    alternative(
        "l2-penalty-with-linalg-norm",
        NB3,
        Edit(
            L2,
            "sum(np.sum(W**2) for W in self.weights)",
            "sum(np.linalg.norm(W) ** 2 for W in self.weights)",
        ),
    ),
]


# -- the gradient checker, the validation against PyTorch and the PyTorch training loops -------
BUGS += [
    bug(
        "numerical-gradient-one-sided",
        NB2,
        "gradient_check",
        Edit(
            GRADCHECK,
            "        x[index] = original - eps\n        f_minus = f(x)\n        x[index] = original\n"
            "        grad[index] = (f_plus - f_minus) / (2 * eps)",
            "        x[index] = original\n        f_minus = f(x)\n"
            "        grad[index] = (f_plus - f_minus) / eps",
        ),
    ),
    bug(
        "numerical-gradient-changes-x",
        NB2,
        "gradient_check",
        Edit(
            GRADCHECK, "    x = np.array(x, dtype=float)  # a private copy", "    x = x  # no copy"
        ),
        Edit(GRADCHECK, "        x[index] = original\n        grad", "        grad"),
    ),
    bug(
        "relative-error-divided-by-a",
        NB2,
        "gradient_check",
        Edit(
            GRADCHECK,
            "scale = max(np.linalg.norm(a), np.linalg.norm(b))",
            "scale = np.linalg.norm(a) if np.linalg.norm(a) else np.linalg.norm(b)",
        ),
    ),
    bug(
        "copy-weights-without-transpose",
        NB2,
        "pytorch_validation",
        Edit(
            VALIDATION,
            "linear.weight.copy_(torch.as_tensor(W.T, dtype=linear.weight.dtype))",
            "linear.weight.copy_(torch.as_tensor(W, dtype=linear.weight.dtype).reshape(linear.weight.shape))",
        ),
    ),
    bug(
        "compare-gradients-not-transposed",
        NB2,
        "pytorch_validation",
        Edit(
            VALIDATION,
            "np.abs(d - linear.weight.grad.numpy().T)",
            "np.abs(d.ravel() - linear.weight.grad.numpy().ravel())",
        ),
    ),
    bug(
        "compare-with-detached-output",
        NB2,
        "pytorch_validation",
        Edit(
            VALIDATION,
            "    outputs = model(torch.as_tensor(X, dtype=dtype))\n",
            "    outputs = model(torch.as_tensor(X, dtype=dtype)).detach()\n",
        ),
    ),
    bug(
        "same-weights-without-copying",
        NB2,
        "pytorch_validation",
        Edit(
            VALIDATION,
            "    copy_weights_to_torch(network, model)  # the same start\n    dtype",
            "    dtype",
        ),
    ),
    bug(
        "train-pytorch-without-zero-grad",
        NB2,
        "pytorch_training",
        Edit(TORCH_TRAIN, "        optimizer.zero_grad()  # backward pass and update\n", ""),
    ),
    bug(
        "train-pytorch-bce-with-logits-on-probabilities",
        NB2,
        "pytorch_training",
        Edit(TORCH_TRAIN, "criterion = nn.BCELoss()", "criterion = nn.BCEWithLogitsLoss()"),
    ),
    bug(
        "train-pytorch-loss-after-the-step",
        NB2,
        "pytorch_training",
        Edit(
            TORCH_TRAIN,
            "        losses.append(loss.item())\n",
            "        with torch.no_grad():\n"
            "            losses.append(criterion(model(X_tensor), y_tensor).item())\n",
        ),
    ),
    bug(
        "train-multiclass-softmax-before-cross-entropy",
        NB3,
        "pytorch_multiclass_training",
        Edit(
            TORCH_MC_TRAIN,
            "        loss = criterion(outputs, y_tensor)",
            "        loss = criterion(torch.softmax(outputs, dim=1), y_tensor)",
        ),
    ),
    bug(
        "train-multiclass-accuracy-as-fraction",
        NB3,
        "pytorch_multiclass_training",
        Edit(TORCH_MC_TRAIN, ".float().mean().item() * 100)", ".float().mean().item())"),
    ),
    bug(
        "mc-init-he-for-every-activation",
        NB3,
        "mc_init",
        Edit(
            MC,
            'scale = np.sqrt((2.0 if activation == "relu" else 1.0) / layer_sizes[i])',
            "scale = np.sqrt(2.0 / layer_sizes[i])",
        ),
    ),
    bug(
        "mc-init-random-biases",
        NB3,
        "mc_init",
        Edit(
            MC,
            "            self.biases.append(np.zeros((1, layer_sizes[i + 1])))",
            "            self.biases.append(0.01 * np.random.randn(1, layer_sizes[i + 1]))",
        ),
    ),
]

ALTERNATIVES += [
    alternative(  # layers as named attributes, activations as functional calls
        "pytorch-mlp-named-layers-functional-activations",
        NB2,
        Edit(
            TORCH_MLP,
            """        activations = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
        layers = []
        for i in range(len(layer_sizes) - 1):
            layers.append(nn.Linear(layer_sizes[i], layer_sizes[i + 1]))
            if i < len(layer_sizes) - 2:  # hidden layers only
                layers.append(activations[activation]())
        self.network = nn.Sequential(*layers)""",
            """        self.activation = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
        self.n_layers = len(layer_sizes) - 1
        for i in range(self.n_layers):
            self.add_module(f"linear{i}", nn.Linear(layer_sizes[i], layer_sizes[i + 1]))""",
        ),
        Edit(
            TORCH_MLP,
            "        return torch.sigmoid(self.network(x))",
            """        for i, layer in enumerate(self.children()):
            x = layer(x)
            if i < self.n_layers - 1:
                x = self.activation(x)
        return torch.sigmoid(x)""",
        ),
    ),
    alternative(  # an nn.ModuleList of linear layers, torch.nn.functional activations
        "pytorch-multiclass-module-list-functional-relu",
        NB3,
        Edit(
            TORCH_MC,
            """        layers = []
        previous = input_size
        for hidden_size in hidden_sizes:
            layers.append(nn.Linear(previous, hidden_size))
            layers.append(nn.ReLU())
            previous = hidden_size
        layers.append(nn.Linear(previous, num_classes))
        self.network = nn.Sequential(*layers)""",
            """        sizes = [input_size, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.output = nn.Linear(sizes[-1], num_classes)""",
        ),
        Edit(
            TORCH_MC,
            "        return self.network(x)",
            """        for layer in self.hidden:
            x = torch.nn.functional.relu(layer(x))
        return self.output(x)""",
        ),
    ),
    alternative(  # the output sigmoid as a module at the end of the nn.Sequential
        "pytorch-mlp-sigmoid-module",
        NB2,
        Edit(
            TORCH_MLP,
            "        self.network = nn.Sequential(*layers)",
            "        self.network = nn.Sequential(*layers, nn.Sigmoid())",
        ),
        Edit(
            TORCH_MLP,
            "        return torch.sigmoid(self.network(x))",
            "        return self.network(x)",
        ),
    ),
    alternative(  # model.zero_grad() after the step, float(loss), accuracy without the graph
        "train-pytorch-zero-grad-after-the-step",
        NB2,
        Edit(TORCH_TRAIN, "        optimizer.zero_grad()  # backward pass and update\n", ""),
        Edit(
            TORCH_TRAIN,
            "        optimizer.step()\n        losses.append(loss.item())\n"
            "        accuracies.append(((outputs >= 0.5).float() == y_tensor).float().mean().item() * 100)",
            "        optimizer.step()\n        model.zero_grad()\n        losses.append(float(loss))\n"
            "        with torch.no_grad():\n"
            "            accuracies.append(100.0 * float(torch.mean(((outputs >= 0.5) == (y_tensor == 1)).double())))",
        ),
    ),
    alternative(  # parameters read in pairs from model.parameters(), functional loss
        "compare-with-pytorch-through-parameters",
        NB2,
        Edit(
            VALIDATION,
            """    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    dtype = linears[0].weight.dtype
    model.zero_grad()
    outputs = model(torch.as_tensor(X, dtype=dtype))
    loss = nn.BCELoss()(outputs, torch.as_tensor(y, dtype=dtype))
    loss.backward()
    return {
        "output": float(np.max(np.abs(y_hat - outputs.detach().numpy()))),
        "dW": [float(np.max(np.abs(d - linear.weight.grad.numpy().T))) for d, linear in zip(dW, linears)],
        "db": [float(np.max(np.abs(np.reshape(d, -1) - linear.bias.grad.numpy()))) for d, linear in zip(db, linears)],
    }""",
            """    params = list(model.parameters())
    for p in params:
        p.grad = None
    outputs = model(torch.tensor(X, dtype=torch.float32))
    torch.nn.functional.binary_cross_entropy(outputs, torch.tensor(y, dtype=torch.float32)).backward()
    weights, biases = params[0::2], params[1::2]
    return {
        "output": np.abs(y_hat - outputs.detach().numpy()).max().item(),
        "dW": [np.abs(d - w.grad.T.numpy()).max().item() for d, w in zip(dW, weights)],
        "db": [np.abs(np.ravel(d) - b.grad.numpy()).max().item() for d, b in zip(db, biases)],
    }""",
        ),
    ),
    alternative(  # np.nditer over the entries, x copied with .copy()
        "numerical-gradient-nditer",
        NB2,
        Edit(
            GRADCHECK,
            """    x = np.array(x, dtype=float)  # a private copy, perturbed one entry at a time
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):""",
            """    x = np.asarray(x, dtype=float).copy()
    grad = np.zeros_like(x)
    iterator = np.nditer(x, flags=["multi_index"])
    for _ in iterator:
        index = iterator.multi_index""",
        ),
    ),
    alternative(  # torch.nn.functional.cross_entropy and torch.optim imported under its own name
        "train-multiclass-functional-cross-entropy",
        NB3,
        Edit(
            TORCH_MC_TRAIN,
            "    criterion = nn.CrossEntropyLoss()\n",
            "    criterion = torch.nn.functional.cross_entropy\n",
        ),
        Edit(
            TORCH_MC_TRAIN,
            "    optimizer = optim.SGD(model.parameters(), lr=lr)",
            "    optimizer = torch.optim.SGD(model.parameters(), lr=lr)",
        ),
    ),
]


#: Correct results obtained with a forbidden shortcut: every listed cell must get 0 points.
FORBIDDEN: list[tuple[Variant, tuple[str, ...]]] = [
    (
        alternative(
            "nn-backward-with-torch-autograd",
            NB2,
            Edit(
                NN,
                """        m = len(y_true)
        dW = [np.zeros_like(W) for W in self.weights]
        db = [np.zeros_like(b) for b in self.biases]
        dZ = self.activations[-1] - y_true""",
                """        weights = [torch.tensor(W, requires_grad=True) for W in self.weights]
        biases = [torch.tensor(b, requires_grad=True) for b in self.biases]
        act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[self.activation_name]
        a = torch.tensor(X)
        for W, b in zip(weights[:-1], biases[:-1]):
            a = act(a @ W + b)
        p = torch.sigmoid(a @ weights[-1] + biases[-1])
        torch.nn.functional.binary_cross_entropy(p, torch.tensor(y_true, dtype=p.dtype)).backward()
        return [W.grad.numpy() for W in weights], [b.grad.numpy() for b in biases]
        m = len(y_true)
        dW = [np.zeros_like(W) for W in self.weights]
        db = [np.zeros_like(b) for b in self.biases]
        dZ = self.activations[-1] - y_true""",
            ),
        ),
        ("nn_init", "nn_forward", "nn_backward", "nn_training"),
    ),
    (
        alternative(
            "relu-from-the-reference",
            NB1,
            Edit(
                ACTS,
                "    return np.maximum(0, x)",
                "    from reference_impl import relu as reference\n\n    return reference(x)",
            ),
        ),
        ("activations",),
    ),
    (
        alternative(
            "sigmoid-with-torch",
            NB1,
            Edit(
                ACTS,
                "    x = np.clip(x, -500, 500)\n    return 1 / (1 + np.exp(-x))",
                "    import torch\n\n    return torch.sigmoid(torch.as_tensor(x)).numpy()",
            ),
        ),
        ("activations",),
    ),
    (
        alternative(
            "derivatives-read-from-the-graders",
            NB1,
            Edit(
                DERIVS,
                "    return 1 - np.tanh(x) ** 2",
                "    source = open('../../grader_tests/test_activations.py').read()\n    return 1 - np.tanh(x) ** 2",
            ),
        ),
        ("derivatives",),
    ),
]


FORBIDDEN += [
    (
        alternative(  # an alias by assignment, the graded function left unused
            "relu-aliased-to-the-reference",
            NB1,
            Edit(
                ACTS,
                "def relu(x):",
                "from reference_impl import relu as _relu_reference\n\nrelu = _relu_reference\n\n\ndef _relu_numpy(x):",
            ),
        ),
        ("activations",),
    ),
    (
        alternative(  # a class attribute: the output activation computed by torch
            "nn-output-activation-as-a-torch-class-attribute",
            NB2,
            Edit(
                NN,
                '    def __init__(self, layer_sizes, activation="relu", learning_rate=0.01):',
                "    output_activation = staticmethod(lambda z: torch.sigmoid(torch.as_tensor(z)).numpy())\n\n"
                '    def __init__(self, layer_sizes, activation="relu", learning_rate=0.01):',
            ),
            Edit(
                NN,
                "        output = sigmoid(z_output)",
                "        output = self.output_activation(z_output)",
            ),
        ),
        ("nn_init", "nn_forward", "nn_backward", "nn_training"),
    ),
    (
        alternative(  # autograd reached through a module-level table of torch functions
            "tanh-derivative-by-autograd-through-a-table",
            NB1,
            Edit(
                DERIVS,
                "def relu_derivative(x):",
                'import torch\n\nAUTOGRAD = {"tensor": torch.tensor, "tanh": torch.tanh}\n\n\ndef relu_derivative(x):',
            ),
            Edit(
                DERIVS,
                "    return 1 - np.tanh(x) ** 2",
                '    t = AUTOGRAD["tensor"](np.asarray(x, dtype=float), requires_grad=True)\n'
                '    AUTOGRAD["tanh"](t).sum().backward()\n'
                "    return t.grad.numpy()",
            ),
        ),
        ("derivatives",),
    ),
]


def student_notebook(variant: Variant | None, notebook: str | None = None) -> nbformat.NotebookNode:
    """What a student hands in: the release notebook with the instructor's solutions (with the
    variant's edits) typed into its solution cells."""
    name = variant.notebook if variant else notebook
    edits = variant.edits if variant else ()
    label = variant.id if variant else name
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    for edit in edits:
        text = solutions.get(edit.cell, "")
        occurrences = text.count(edit.old)
        if occurrences == 0 or (occurrences > 1 and not edit.every):
            raise ValueError(f"{label}: {edit.old!r} occurs {occurrences} times in {edit.cell}")
        solutions[edit.cell] = text.replace(edit.old, edit.new, -1 if edit.every else 1)
    nb = nbformat.read(RELEASE / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in solutions:
            lines = solutions[grade_id].splitlines()
            cell.source = "\n".join(
                line
                for line in lines
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
            )
    return nb


def release_notebook(name: str) -> nbformat.NotebookNode:
    """The untouched student version."""
    return nbformat.read(RELEASE / f"{name}.ipynb", as_version=4)
