"""Fixtures shared by the kit's tests: the tiny course (unit tests) and the graded MLP course
(slow tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gradekit.checks.grading import SuiteSessions
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.runtime import Runtime
from gradekit.sandbox.workers import WorkerPool
from synthetic.courses import autograde_with_nbgrader, copy_course
from synthetic.samples import SAMPLES
from tests.unit.fixtures import copy_tiny_course


@pytest.fixture(scope="session")
def workers() -> Iterator[WorkerPool]:
    """The fork servers of the tests' sandboxed workers (stopped after the last test)."""
    with WorkerPool() as pool:
        yield pool


@pytest.fixture(scope="session")
def runtime() -> Iterator[Runtime]:
    """The runtime of the tests that grade in this process: suite sessions, kernel fork servers,
    grading thread (closed after the last test)."""
    with Runtime() as runtime:
        yield runtime


@pytest.fixture(scope="session")
def suite_sessions(runtime: Runtime) -> SuiteSessions:
    """The check suites' sessions of the tests that call ``grade_notebook``."""
    return runtime.suites


@pytest.fixture(scope="session")
def nbgrader_course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A copy of the course whose bundled submissions plain ``nbgrader autograde`` graded, with
    the kit's configuration. Tests only read it (or add feedback)."""
    course = copy_course(tmp_path_factory.mktemp("nbgrader-course"))
    autograde_with_nbgrader(course, SAMPLES)
    return course


@pytest.fixture(scope="session")
def tiny_course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A copy of the engine's tiny test course (``tests/unit/fixtures/tiny_course``), one for the
    whole session: its check suite is imported once per process, under one path. Tests read it and
    may write its gradebook and release."""
    return Course.find(copy_tiny_course(tmp_path_factory.mktemp("tiny") / "course"))
