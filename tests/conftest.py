"""Fixtures shared by the kit's slow tests."""

from __future__ import annotations

import pytest

from gradekit.nbgrader.course import Course
from synthetic.courses import autograde_with_nbgrader, copy_course
from synthetic.samples import SAMPLES


@pytest.fixture(scope="session")
def nbgrader_course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A copy of the course whose bundled submissions plain ``nbgrader autograde`` graded, with
    the kit's configuration. Tests only read it (or add feedback)."""
    course = copy_course(tmp_path_factory.mktemp("nbgrader-course"))
    autograde_with_nbgrader(course, SAMPLES)
    return course
