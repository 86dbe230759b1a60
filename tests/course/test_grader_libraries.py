"""grader_tests.conftest.TORCH: the course's declaration of PyTorch, and the engine obeying it in a
real student process (tensors both ways, seeding) and in the feedback (torch's messages)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from gradekit.core.disclosure import WITHHELD, Disclosure
from gradekit.core.libraries import NO_LIBRARIES, Libraries
from gradekit.nbgrader.course import Course
from gradekit.sandbox.student import Student
from gradekit.sandbox.submission import Submission
from gradekit.sandbox.workers import WorkerPool
from grader_tests.conftest import ASSIGNMENT, TORCH
from tests.unit.fixtures import started_submission

#: The course's own limits (its fork servers preload torch, as when submissions are graded).
LIMITS = Course.find(Path(__file__).resolve().parents[2]).settings.limits()

STUDENT_CODE = textwrap.dedent(
    """
    import torch

    def leaf(values):
        return torch.tensor(values, requires_grad=True)

    def doubled(tensor):
        return [type(tensor).__name__, tensor.requires_grad, tensor * 2]

    def parameter():
        return torch.nn.Parameter(torch.ones(2, 3))

    def draws():
        return torch.rand(4)
    """
)


def started(libraries: Libraries, workers: WorkerPool) -> Submission:
    return started_submission(STUDENT_CODE, workers=workers, limits=LIMITS, libraries=libraries)


@pytest.fixture(scope="module")
def with_torch(workers):
    with started(TORCH, workers) as submission:
        yield Student(submission)


@pytest.fixture(scope="module")
def engine_alone(workers):
    with started(NO_LIBRARIES, workers) as submission:
        yield Student(submission)


def test_the_mlp_assignment_declares_torch():
    assert ASSIGNMENT.libraries is TORCH


def test_a_tensor_comes_back_as_a_tensor_keeping_requires_grad(with_torch):
    back = with_torch.call("leaf", [[1.0, 2.0]])
    assert isinstance(back, torch.Tensor) and back.requires_grad
    assert back.detach().tolist() == [[1.0, 2.0]]


def test_a_parameter_comes_back_as_a_tensor(with_torch):
    back = with_torch.call("parameter")
    assert isinstance(back, torch.Tensor) and back.requires_grad and back.shape == (2, 3)


def test_a_tensor_reaches_the_student_as_a_tensor(with_torch):
    sent = torch.arange(3.0)
    kind, requires_grad, result = with_torch.call("doubled", sent)
    assert (kind, requires_grad) == ("Tensor", False)
    assert isinstance(result, torch.Tensor) and result.tolist() == [0.0, 2.0, 4.0]


def test_without_the_declaration_a_tensor_stays_in_the_student_process(engine_alone):
    back = engine_alone.call("leaf", [[1.0, 2.0]])
    assert not isinstance(back, torch.Tensor | np.ndarray)
    assert back.type_name == "object"  # the engine alone may not even name torch's types


def draws(student: Student, seed: int) -> list[float]:
    value = student.invoke("draws", seed=seed).value
    return value.tolist() if isinstance(value, torch.Tensor) else value


def test_a_seeded_call_seeds_torch(with_torch):
    first, again, other = (draws(with_torch, seed) for seed in (3, 3, 4))
    assert first == again and first != other


def test_without_the_declaration_torch_is_not_seeded(with_torch, engine_alone):
    # Its draws continue its generator's sequence; and come back as handles, not tensors.
    first = engine_alone.invoke("draws", seed=3).value
    again = engine_alone.evaluate("d.tolist()", "reading draws", d=first)
    assert again != draws(with_torch, 3)


#: torch's messages the course lets through (each part checked), and forged variants.
MESSAGES = [
    pytest.param(
        "element 0 of tensors does not require grad and does not have a grad_fn",
        True,
        id="detached",
    ),
    pytest.param("mat1 and mat2 shapes cannot be multiplied (16x2 and 10x2)", True, id="shapes"),
    pytest.param(
        "mat1 and mat2 must have the same dtype, but got Double and Float", True, id="dtypes"
    ),
    pytest.param(
        "mat1 and mat2 must have the same dtype, but got q0_125 and Float",
        False,
        id="dtype-not-a-dtype",
    ),
    pytest.param(
        "mat1 and mat2 shapes cannot be multiplied (16x2 and 31337x2)",
        False,
        id="shape-too-large",
    ),
]


@pytest.mark.parametrize(("message", "shown"), MESSAGES)
def test_torch_messages_are_shown_as_the_course_declares(message, shown):
    disclosure = Disclosure.of([("cell 1 'pytorch_mlp'", "import torch\n")], libraries=TORCH)
    assert (disclosure.message("RuntimeError", message) == message) is shown


@pytest.mark.parametrize(("message", "shown"), MESSAGES)
def test_the_engine_alone_withholds_torch_messages(message, shown):
    disclosure = Disclosure.of([("cell 1 'pytorch_mlp'", "import torch\n")])
    assert disclosure.message("RuntimeError", message) == f"({WITHHELD})"
