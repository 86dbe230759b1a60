"""The declaration and fixtures of the ``softmax_regression`` assignment's hidden checks.

The engine reads the :class:`gradekit.core.plans.Assignment` from the ``assignment`` fixture and
hands each check the process of its grade cell (``student_process``); everything else here is this
assignment's own choice (the ``student`` view, the hidden inputs' generator).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from gradekit.core.plans import Assignment, CellRule
from gradekit.sandbox.student import Student
from gradekit.sandbox.submission import Submission

#: What each grade cell grades, and the earlier names its checks replace by the reference's, so a
#: bug in ``softmax`` costs points in the ``softmax`` cell only.
ASSIGNMENT = Assignment(
    cells={
        "softmax": CellRule(grades=("softmax", "cross_entropy"), without=("torch",)),
        "gradients": CellRule(
            grades=("softmax_regression_gradients",),
            replaces=("softmax", "cross_entropy"),
            without=("torch",),
        ),
    },
    reference=Path(__file__).resolve().parent.parent / "reference",
    # The reference module ``softmax`` may be shipped into the process that grades ``gradients``
    # (it computes only the ``softmax`` cell's answers); ``gradients`` never leaves this side.
    answers={"softmax": ("softmax",)},
)

#: Seed of the hidden inputs; each check draws from its own generator derived from it.
DEFAULT_SEED = 11


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--grader-seed", type=int, default=DEFAULT_SEED, help="seed of hidden inputs")


@pytest.fixture(scope="session")
def assignment() -> Assignment:
    return ASSIGNMENT


@pytest.fixture
def student(student_process: Submission, grade_item: str) -> Student:
    """The student's code, with the earlier names this cell replaces taken from the reference."""
    return Student(student_process, substitute=ASSIGNMENT.rule(grade_item).replaces)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator for this check's hidden inputs (stable for a given seed and check)."""
    seed = request.config.getoption("--grader-seed")
    digest = hashlib.sha256(f"{seed}:{request.node.nodeid}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
