"""Fixtures of the engine's unit tests: they run on the tiny course of ``fixtures/tiny_course``
(NumPy only) and never import torch, scikit-learn or the MLP course
(``tests/integration/test_unit_suite.py`` checks it)."""

from __future__ import annotations

import pytest

from gradekit.nbgrader.course import Course
from tests.unit.fixtures import copy_tiny_course

#: The tiny course's hidden checks are graded by the tests, not collected as tests.
collect_ignore = ["fixtures"]


@pytest.fixture(scope="session")
def tiny_course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """One copy of the tiny course for the whole session (its check suite is imported once per
    process, under one path); tests read it and may write its gradebook."""
    return Course.find(copy_tiny_course(tmp_path_factory.mktemp("tiny") / "course"))
