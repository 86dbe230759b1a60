"""The linear baseline of lecture 5, step 2: logistic regression trained by gradient descent."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .activations import FloatArray, as_float_array
from .activations import sigmoid as _sigmoid
from .losses import as_binary_labels, binary_accuracy, binary_cross_entropy


class LogisticRegression:
    """Binary logistic regression ``y_hat = sigmoid(X @ W + b)``.

    Attributes:
        W: Weights, shape ``(n_features, 1)``, initialised as ``np.random.randn(n, 1) * 0.01``.
        b: Bias, shape ``(1, 1)``, initialised to zero.
        lr: Learning rate of :meth:`step`.
        losses: Mean BCE of every :meth:`fit` epoch, computed before that epoch's update.
        accuracies: Training accuracy (percent) of every epoch, computed before the update.
    """

    def __init__(self, n_features: int, lr: float = 0.01) -> None:
        """Initialises the parameters from the global NumPy random state, as the lecture does.

        Args:
            n_features: Number of input features ``n``.
            lr: Learning rate.
        """
        self.W: FloatArray = np.random.randn(n_features, 1) * 0.01
        self.b: FloatArray = np.zeros((1, 1))
        self.lr = lr
        self.losses: list[float] = []
        self.accuracies: list[float] = []

    def sigmoid(self, z: npt.ArrayLike) -> FloatArray:
        """Numerically stable sigmoid (the lecture clips ``z`` to ±500 instead).

        Args:
            z: Logits, any shape.

        Returns:
            Probabilities with the shape of ``z``.
        """
        return _sigmoid(z)

    def forward(self, X: npt.ArrayLike) -> FloatArray:
        """Predicted probabilities of class 1.

        Args:
            X: Inputs, shape ``(m, n_features)``.

        Returns:
            Probabilities, shape ``(m, 1)``.
        """
        return self.sigmoid(as_float_array(X) @ self.W + self.b)

    def compute_loss(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
        """Mean binary cross-entropy (predictions clipped to ``[1e-7, 1 - 1e-7]``).

        Args:
            y_pred: Probabilities, shape ``(m, 1)``.
            y_true: 0/1 labels, shape ``(m, 1)``.

        Returns:
            The loss.
        """
        return binary_cross_entropy(y_pred, y_true)

    def compute_accuracy(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
        """Accuracy in percent with threshold ``>= 0.5``.

        Args:
            y_pred: Probabilities, shape ``(m, 1)``.
            y_true: 0/1 labels, shape ``(m, 1)``.

        Returns:
            Accuracy in [0, 100].
        """
        return binary_accuracy(y_pred, y_true)

    def backward(
        self, X: npt.ArrayLike, y_pred: npt.ArrayLike, y_true: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Gradients of the mean BCE with respect to ``W`` and ``b``.

        Args:
            X: Inputs, shape ``(m, n_features)``.
            y_pred: Probabilities from :meth:`forward`, shape ``(m, 1)``.
            y_true: 0/1 labels, shape ``(m, 1)``.

        Returns:
            ``(dW, db)`` of shapes ``(n_features, 1)`` and ``(1, 1)``.
        """
        X = as_float_array(X)
        y = as_binary_labels(y_true)
        m = len(y)
        dZ = as_float_array(y_pred).reshape(-1, 1) - y  # d(mean BCE)/dz times m
        dW = (1 / m) * (X.T @ dZ)
        db = (1 / m) * np.sum(dZ, axis=0, keepdims=True)
        return dW, db

    def step(self, dW: npt.ArrayLike, db: npt.ArrayLike) -> None:
        """One gradient-descent update, in place: ``W -= lr * dW``, ``b -= lr * db``.

        Args:
            dW: Gradient for ``W``, shape ``(n_features, 1)``.
            db: Gradient for ``b``, a scalar or shape ``(1, 1)``.
        """
        self.W -= self.lr * as_float_array(dW)
        self.b -= self.lr * as_float_array(db)

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, epochs: int = 1000, verbose: bool = True
    ) -> None:
        """Full-batch gradient descent.

        Each epoch records the loss and accuracy of the current parameters, then updates them.

        Args:
            X: Inputs, shape ``(m, n_features)``.
            y: 0/1 labels, shape ``(m, 1)``.
            epochs: Number of updates.
            verbose: Print progress every 100 epochs and at the last epoch.
        """
        for i in range(epochs):
            y_pred = self.forward(X)
            loss = self.compute_loss(y_pred, y)
            acc = self.compute_accuracy(y_pred, y)
            self.losses.append(loss)
            self.accuracies.append(acc)
            dW, db = self.backward(X, y_pred, y)
            self.step(dW, db)
            if verbose and (i % 100 == 0 or i == epochs - 1):
                print(f"Epoch {i:4d} | Loss: {loss:.4f} | Accuracy: {acc:.2f}%")

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int_]:
        """Class predictions with threshold ``>= 0.5``.

        Args:
            X: Inputs, shape ``(m, n_features)``.

        Returns:
            Integer 0/1 array, shape ``(m, 1)``.
        """
        return (self.forward(X) >= 0.5).astype(int)

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Predicted probabilities of class 1.

        Args:
            X: Inputs, shape ``(m, n_features)``.

        Returns:
            Probabilities, shape ``(m, 1)``.
        """
        return self.forward(X)
