"""The items checked against oracles, one row each, and one check per oracle kind.

Each row (:class:`~grader_tests.oracle_table.Row`) names an item's grade cell, how its hidden
inputs are drawn, how the student's code is called and how the answers are compared (the helpers
live in the item's own module, next to its other checks); then each oracle the item is checked
against, with the cases it runs on and its tolerances:

- ``reference``: the reference NumPy implementation (:mod:`reference_impl`);
- ``torch``: PyTorch: the same function, an identical ``torch.nn`` model or ``torch.autograd``;
- ``central``: central differences (for derivatives and gradients).

Every (row, case) of an oracle is one check of the row's grade cell, named
``matches_<oracle>[<item>-<case>]``, e.g. ``matches_torch[relu_derivative-batch1]``. A failing
check's message says what was compared with which oracle, on what shape of input, and a known
mistake the answer equals; it never shows the hidden inputs.

Checks that are not "this item against an oracle" stay in the item's module (extreme inputs,
conventions, no mutation, training, the lecture's results), and so do oracle checks whose set-up
is their own: ``numerical_gradient`` and ``relative_error`` against the reference (``f`` is
evaluated in the student's process; chosen edge cases), the losses against ``torch.nn`` losses
and the accuracies, ``predict`` and the L2 loss against the reference (one oracle each, on
chosen predictions or thresholds), ``update_parameters``/``step``/``fit`` against
``torch.optim.SGD`` (state carried across calls), ``run_experiment`` (seeded runs), and the
PyTorch models and loops (the student's ``nn.Module``, its own parameters, float32).
"""

from __future__ import annotations

from functools import partial

import pytest

import reference_impl as ref
from grader_tests import networks
from grader_tests import test_activations as activations
from grader_tests import test_forward_example as example
from grader_tests import test_logistic_regression as logistic
from grader_tests import test_multiclass as multiclass
from grader_tests import test_neural_network as binary
from grader_tests import test_practice as practice
from grader_tests.oracle_table import Oracle, Row, check_row, params
from grader_tests.tolerances import FINITE_DIFFERENCE_ATOL, FINITE_DIFFERENCE_RTOL

REFERENCE = "the reference implementation"
#: Tolerances of analytic derivatives against central differences.
CENTRAL = {"rtol": FINITE_DIFFERENCE_RTOL, "atol": FINITE_DIFFERENCE_ATOL}
#: The architectures (with each hidden activation) of the costlier oracles.
FEW_ARCHITECTURES = ("batch1", "two-hidden")

ROWS: list[Row] = [
    # -- notebook 1 ---------------------------------------------------------------------------
    *(
        Row(
            cell="activations",
            item=name,
            draw=activations.away_from_zero,
            answer=partial(activations.call, name),
            compare=partial(activations.check_value, name),
            reference=Oracle(getattr(ref, name), REFERENCE, activations.SHAPES),
            torch=Oracle(
                partial(activations.torch_value, name), f"torch's {name}", activations.TORCH_SHAPES
            ),
        )
        for name in activations.ACTIVATIONS
    ),
    *(
        Row(
            cell="derivatives",
            item=name,
            draw=activations.away_from_zero,
            answer=partial(activations.call, name),
            compare=partial(activations.check_value, name),
            reference=Oracle(getattr(ref, name), REFERENCE, activations.SHAPES),
            torch=Oracle(
                partial(activations.autograd_derivative, name),
                "torch.autograd",
                activations.TORCH_SHAPES,
            ),
            central=Oracle(
                partial(activations.central_derivative, name),
                "central differences of the activation",
                activations.CENTRAL_SHAPES,
                **CENTRAL,
            ),
        )
        for name in activations.DERIVATIVES
    ),
    *(
        Row(
            cell="forward_example",
            item=f"{example.FUNCTION}.{output}",
            draw=example.draw_example,
            answer=partial(example.answer, index),
            compare=partial(example.check_output, index),
            reference=Oracle(partial(example.reference_output, index), REFERENCE, example.SHAPES),
            torch=Oracle(
                partial(example.torch_output, index),
                "nn.Linear, nn.ReLU, nn.Linear and torch.sigmoid with the same parameters",
                example.TORCH_SHAPES,
            ),
        )
        for index, output in enumerate(example.OUTPUTS)
    ),
    Row(
        cell="logreg_predictions",
        item="LogisticRegression.sigmoid",
        draw=logistic.draw_logits,
        answer=logistic.student_sigmoid,
        compare=logistic.check_sigmoid,
        reference=Oracle(ref.sigmoid, REFERENCE, logistic.SHAPES),
        torch=Oracle(logistic.torch_sigmoid, "torch.sigmoid", logistic.TORCH_SHAPES),
    ),
    Row(
        cell="logreg_predictions",
        item="LogisticRegression.forward",
        draw=logistic.draw_problem,
        answer=logistic.student_forward,
        compare=logistic.check_forward,
        reference=Oracle(logistic.reference_forward, REFERENCE, logistic.SHAPES),
        torch=Oracle(
            logistic.torch_forward,
            "torch.sigmoid of an identical torch.nn.Linear",
            logistic.TORCH_SHAPES,
        ),
    ),
    Row(
        cell="logreg_training",
        item="LogisticRegression.backward",
        draw=logistic.draw_problem,
        answer=logistic.student_gradients,
        compare=logistic.check_logistic_gradients,
        reference=Oracle(logistic.Problem.reference_gradients, REFERENCE, logistic.SHAPES),
        torch=Oracle(
            logistic.torch_gradients,
            "loss.backward() of torch.nn.BCELoss on an identical torch.nn.Linear",
            logistic.GRADIENT_SHAPES,
        ),
        central=Oracle(
            logistic.central_gradients,
            "central differences of the mean loss",
            logistic.GRADIENT_SHAPES,
            **CENTRAL,
        ),
    ),
    # -- notebook 2 ---------------------------------------------------------------------------
    Row(
        cell="nn_forward",
        item="NeuralNetwork.forward",
        draw=networks.draw_binary,
        answer=binary.student_forward,
        compare=binary.check_forward,
        reference=Oracle(
            networks.reference_output, REFERENCE, networks.case_table(networks.BINARY)
        ),
        torch=Oracle(
            networks.torch_output,
            "an identical torch.nn model",
            networks.case_table(networks.BINARY),
        ),
    ),
    Row(
        cell="nn_backward",
        item="NeuralNetwork.backward",
        draw=networks.draw_binary,
        answer=binary.student_gradients,
        compare=networks.check_gradients,
        reference=Oracle(
            networks.reference_gradients, REFERENCE, networks.case_table(networks.BINARY)
        ),
        torch=Oracle(
            networks.torch_gradients,
            "loss.backward() of an identical torch.nn model",
            networks.case_table(networks.BINARY),
        ),
        central=Oracle(
            networks.central_gradients,
            "central differences of the mean loss",
            networks.case_table(networks.BINARY, FEW_ARCHITECTURES),
            **CENTRAL,
        ),
    ),
    # -- notebook 3 ---------------------------------------------------------------------------
    Row(
        cell="mc_softmax_loss",
        item="MultiClassNeuralNetwork.softmax",
        draw=multiclass.draw_logits,
        answer=multiclass.student_softmax,
        compare=multiclass.check_softmax,
        reference=Oracle(ref.softmax, REFERENCE, multiclass.SOFTMAX_SHAPES),
        torch=Oracle(
            multiclass.torch_softmax, "torch.softmax(z, dim=1)", multiclass.TORCH_SOFTMAX_SHAPES
        ),
    ),
    Row(
        cell="mc_softmax_loss",
        item="MultiClassNeuralNetwork.forward",
        draw=multiclass.draw_multiclass,
        answer=multiclass.student_forward,
        compare=multiclass.check_forward,
        reference=Oracle(
            networks.reference_output, REFERENCE, networks.case_table(networks.MULTICLASS)
        ),
        torch=Oracle(
            networks.torch_output,
            "torch.softmax of an identical torch.nn model",
            networks.case_table(networks.MULTICLASS, FEW_ARCHITECTURES),
        ),
    ),
    Row(
        cell="mc_backward",
        item="MultiClassNeuralNetwork.backward",
        draw=multiclass.draw_multiclass,
        answer=multiclass.student_gradients,
        compare=networks.check_gradients,
        reference=Oracle(
            networks.reference_gradients,
            REFERENCE,
            multiclass.labelled_case_table(networks.MULTICLASS),
        ),
        torch=Oracle(
            networks.torch_gradients,
            "loss.backward() of nn.CrossEntropyLoss on an identical torch.nn model",
            multiclass.labelled_case_table(networks.MULTICLASS),
        ),
        central=Oracle(
            networks.central_gradients,
            "central differences of the mean loss",
            multiclass.labelled_case_table(networks.MULTICLASS, FEW_ARCHITECTURES),
            **CENTRAL,
        ),
    ),
    Row(
        cell="l2_regularisation",
        item="NeuralNetworkL2.backward",
        draw=networks.draw_binary,
        answer=practice.student_l2_gradients,
        compare=practice.check_l2_gradients,
        reference=Oracle(
            practice.reference_l2_gradients,
            f"{REFERENCE} (l2_lambda={practice.L2_LAMBDA})",
            networks.case_table(networks.BINARY, practice.L2_KEYS),
        ),
        torch=Oracle(
            practice.torch_l2_gradients,
            "loss.backward() of BCE + l2_lambda / (2 m) * sum ||W||^2 in torch "
            f"(l2_lambda={practice.L2_LAMBDA})",
            networks.case_table(networks.BINARY, practice.L2_KEYS),
        ),
        central=Oracle(
            practice.finite_difference_l2_gradients,
            f"central differences of the penalised mean loss (l2_lambda={practice.L2_LAMBDA})",
            networks.case_table(networks.BINARY, ("two-hidden",)),
            **CENTRAL,
        ),
    ),
]


@pytest.mark.parametrize(("row", "oracle", "case"), params(ROWS, "reference"))
def test_matches_reference(student, rng, row, oracle, case):
    check_row(row, oracle, case, student, rng)


@pytest.mark.parametrize(("row", "oracle", "case"), params(ROWS, "torch"))
def test_matches_torch(student, rng, row, oracle, case):
    check_row(row, oracle, case, student, rng)


@pytest.mark.parametrize(("row", "oracle", "case"), params(ROWS, "central"))
def test_matches_central_differences(student, rng, row, oracle, case):
    check_row(row, oracle, case, student, rng)
