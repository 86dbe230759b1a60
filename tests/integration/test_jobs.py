"""gradekit.batch.job, .run and .store: a submission prepared, graded and stored in three steps
(here in one process).

The steps' result equals plain ``nbgrader autograde`` (``tests/integration/test_batch.py`` compares
whole batches); these tests cover what can go wrong between the steps. Grades-only jobs keep them
quick: storing works the same for both kinds.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from gradekit.batch.dask_run import _gradebook_state
from gradekit.batch.job import Job, JobError, Outcome, prepare_job
from gradekit.batch.run import run_job
from gradekit.batch.store import store_outcome
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.runtime import Runtime
from synthetic.courses import ASSIGNMENT, copy_course, grades, quiet_gradebook

STUDENT = "alice_complete"
NB2 = "02_neural_network_from_scratch"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    return copy_course(tmp_path_factory.mktemp("jobs-course"), students=[STUDENT])


def prepare(course: Course, runtime: Runtime) -> Job:
    notebooks, _ = _gradebook_state(course, ASSIGNMENT)
    with quiet_gradebook():
        return prepare_job(
            course=course,
            assignment=ASSIGNMENT,
            student=STUDENT,
            notebook_names=notebooks,
            runtime=runtime,
            grades_only=True,
        )


def submitted(course: Course, notebook: str) -> Path:
    return course.path("submitted", assignment=ASSIGNMENT, student=STUDENT) / f"{notebook}.ipynb"


@pytest.fixture(scope="module")
def prepared(course, runtime) -> tuple[Job, Outcome]:
    job = prepare(course, runtime)
    return job, run_job(job, runtime=runtime)


def test_a_job_is_plain_data_with_the_sanitized_notebooks(prepared):
    job, outcome = prepared
    assert set(job.notebooks) == set(job.submitted_keys) == set(outcome.notebooks)
    for text in job.notebooks.values():
        cells = json.loads(text)["cells"]
        assert all(cell.get("outputs", []) == [] for cell in cells), "outputs are cleared"


def test_an_outcome_is_stored_with_its_grades(course, prepared, runtime):
    job, outcome = prepared
    with quiet_gradebook():
        store_outcome(course=course, job=job, outcome=outcome, runtime=runtime)
    stored = grades(course, STUDENT)
    expected = {
        item_id: item.points
        for result in outcome.results().values()
        for item_id, item in result.items.items()
    }
    assert {grade_id: score for grade_id, (score, _) in stored.items()} == expected


def test_a_notebook_changed_after_its_job_was_prepared_is_not_stored(course, tmp_path, runtime):
    job = prepare(course, runtime)
    outcome = run_job(job, runtime=runtime)
    path = submitted(course, NB2)
    original = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    nbformat.write(nb, path)
    try:
        with quiet_gradebook(), pytest.raises(JobError, match="changed while it was being graded"):
            store_outcome(course=course, job=job, outcome=outcome, runtime=runtime)
    finally:
        path.write_bytes(original)


def test_a_notebook_nbgrader_cannot_sanitize_fails_when_stored_as_in_nbgrader(course, runtime):
    """nbgrader refuses grade metadata of an unknown schema: the job leaves the notebook out
    (and says why), and storing fails the submission as ``nbgrader autograde`` would."""
    path = submitted(course, NB2)
    original = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    graded = next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade"))
    graded.metadata.nbgrader["schema_version"] = 99
    nbformat.write(nb, path)
    try:
        job = prepare(course, runtime)
        assert NB2 not in job.notebooks
        assert any(problem.startswith(f"{NB2}.ipynb could not be read") for problem in job.problems)
        outcome = run_job(job, runtime=runtime)
        with quiet_gradebook(), pytest.raises(JobError):
            store_outcome(course=course, job=job, outcome=outcome, runtime=runtime)
    finally:
        path.write_bytes(original)
