"""The correct answers of the ``by_hand`` item (notebook 1; see ``docs/assignment_api.md``)."""

from __future__ import annotations

#: Correct values of the ``by_hand`` item: the reflection exercise "ReLU(2), ReLU(-2), Tanh(1),
#: Sigmoid(0)" and the ReLU layer for input ``[1, 2]``, weights ``[[0.5, -0.5], [0.3, 0.7]]`` and
#: bias ``[0.1, -0.1]`` in the lecture's row convention ``relu(x @ W + b)``:
#: ``[1*0.5 + 2*0.3 + 0.1, 1*(-0.5) + 2*0.7 - 0.1] = [1.2, 0.8]``.
BY_HAND_ANSWERS: dict[str, float | list[float]] = {
    "relu(2)": 2.0,
    "relu(-2)": 0.0,
    "tanh(1)": 0.7615941559557649,
    "sigmoid(0)": 0.5,
    "relu_layer": [1.2, 0.8],
}
