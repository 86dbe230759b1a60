"""Fixtures shared by the kit's slow tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gradekit.nbgrader.course import Course
from gradekit.sandbox.workers import WorkerPool
from tests.courses import autograde_with_nbgrader, copy_course
from tests.samples import SAMPLES


@pytest.fixture(scope="session")
def workers() -> Iterator[WorkerPool]:
    """The fork servers of the tests' sandboxed workers (stopped after the last test)."""
    with WorkerPool() as pool:
        yield pool


@pytest.fixture(scope="session")
def nbgrader_course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A copy of the course whose bundled submissions plain ``nbgrader autograde`` graded, with
    the kit's configuration. Tests only read it (or add feedback)."""
    course = copy_course(tmp_path_factory.mktemp("nbgrader-course"))
    autograde_with_nbgrader(course, SAMPLES)
    return course
