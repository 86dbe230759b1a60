"""A network that remembers its training labels gains nothing in the lecture-accuracy checks.

The submission's ``NeuralNetwork`` never updates its weights (its honest bug), but its ``fit``
remembers the training points and ``predict_proba`` answers them from memory: measured on the
training data it would reach 100 %. The lecture-accuracy checks measure ``predict_proba`` on a new
sample drawn at grading time, so the submission scores exactly what the same network without the
memory scores, through ``nbgrader autograde`` and through a 2-job ``gradekit autograde``.
"""

from __future__ import annotations

import nbformat
import pytest

from gradekit.batch.dask_run import autograde_class
from gradekit.checks.grading import grade_notebook
from gradekit.checks.pytest_plugin import support_files
from gradekit.core.notebook import as_nbformat, notebook_from_dict
from gradekit.nbgrader.course import Course
from synthetic.banks import NB2, NN, Edit, Variant, student_notebook
from synthetic.courses import (
    ASSIGNMENT,
    autograde_with_nbgrader,
    copy_course,
    grades,
    quiet_gradebook,
)

pytestmark = pytest.mark.slow

STUDENT = "memoriser"
#: The honest bug: fit computes the gradients but never applies them.
NO_UPDATE = Edit(NN, "            self.update_parameters(dW, db)\n", "")
#: The memory: fit stores the training labels, predict_proba answers known points from it.
REMEMBER = (
    (
        "        for epoch in range(epochs):\n",
        "        self.memory = {tuple(row): float(label) "
        "for row, label in zip(np.asarray(X).tolist(), np.ravel(y))}\n"
        "        for epoch in range(epochs):\n",
    ),
    (
        '        """Probabilities of class 1, shape (m, 1)."""\n        return self.forward(X)',
        '        """Probabilities of class 1, shape (m, 1)."""\n'
        "        memory = getattr(self, 'memory', {})\n"
        "        computed = self.forward(X)\n"
        "        return np.array([[memory.get(tuple(row), p)] for row, p in "
        "zip(np.asarray(X).tolist(), np.ravel(computed))])",
    ),
)
LECTURE_CHECKS = (
    "reaches_the_lecture_accuracy_on_moons",
    "reaches_the_lecture_accuracy_on_circles",
)


def honest() -> nbformat.NotebookNode:
    return student_notebook(Variant("no-update", NB2, (NO_UPDATE,)))


def memoriser() -> nbformat.NotebookNode:
    nb = honest()
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == NN)
    for old, new in REMEMBER:
        assert cell.source.count(old) == 1, old
        cell.source = cell.source.replace(old, new)
    return nb


def trusted_points(nb: nbformat.NotebookNode, course: Course) -> dict[str, float]:
    result = grade_notebook(
        notebook=notebook_from_dict(as_nbformat(nb), name=NB2),
        suite=course.suite(ASSIGNMENT),
        support_files=support_files(course.path("source", assignment=ASSIGNMENT)),
        limits=course.settings.limits(),
    )
    return {grade_id: item.points for grade_id, item in result.items.items()}


def submitted_course(folder) -> Course:
    course = copy_course(folder, students=())
    target = course.path("submitted", assignment=ASSIGNMENT, student=STUDENT)
    target.mkdir(parents=True)
    nbformat.write(memoriser(), target / f"{NB2}.ipynb")
    return course


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict[str, float]:
    """What the network without the memory deserves, by the trusted graders alone."""
    course = copy_course(tmp_path_factory.mktemp("honest"), students=())
    return trusted_points(honest(), course)


def test_the_lecture_checks_fail_for_the_memoriser(tmp_path_factory):
    """Measured on its training points the memoriser would be perfect: these checks must fail
    (they passed before they drew new points at grading time)."""
    course = copy_course(tmp_path_factory.mktemp("checked"), students=())
    result = grade_notebook(
        notebook=notebook_from_dict(as_nbformat(memoriser()), name=NB2),
        suite=course.suite(ASSIGNMENT),
        support_files=support_files(course.path("source", assignment=ASSIGNMENT)),
        limits=course.settings.limits(),
    )
    failed = [check.name for check in result.items["nn_training"].checks if not check.passed]
    for name in LECTURE_CHECKS:
        assert any(name in check for check in failed), failed


def test_nbgrader_autograde_gives_the_memoriser_no_points_for_it(tmp_path, expected):
    course = submitted_course(tmp_path / "nbgrader")
    autograde_with_nbgrader(course, [STUDENT])
    stored = grades(course, STUDENT)
    assert {cell: stored[cell][0] for cell in expected} == expected


def test_a_two_job_batch_gives_the_memoriser_no_points_for_it(tmp_path, expected):
    course = submitted_course(tmp_path / "batch")
    with quiet_gradebook():
        summary = autograde_class(course=course, assignment=ASSIGNMENT, jobs=2)
    assert not summary.failed
    stored = grades(course, STUDENT)
    assert {cell: stored[cell][0] for cell in expected} == expected
