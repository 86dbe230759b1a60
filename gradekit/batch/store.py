"""Step 3 of a submission's autograding (:mod:`gradekit.batch.job`): store a worker's outcome.

On the coordinator, the gradebook's only writer: nbgrader's own ``Autograde`` converter runs
with its sanitizing steps replaced by :class:`UseSanitized` and its execution steps by
:class:`UseOutcome`, so that the autograded notebooks, grades and late penalties are exactly
what ``nbgrader autograde`` writes. The converter (:class:`StoreAutograde`) carries the job and
the outcome to those two steps, its children, and lends its other steps the coordinator's
runtime.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import capture_log
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from gradekit.batch.job import Job, JobError, Outcome
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.hide_hidden_tests import HideHiddenTests
from gradekit.nbgrader.runtime import RUNTIME_ATTRIBUTE, Runtime
from gradekit.nbgrader.sanitize import content_key, sanitize_notebook
from gradekit.nbgrader.trusted_grades import TrustedGrades


@dataclass(frozen=True)
class _Storing:
    """What the two stand-in steps of a submission being stored need."""

    job: Job
    outcome: Outcome
    config: Config  # the course's, with nbgrader's own sanitizing steps


def _storing(step: NbGraderPreprocessor) -> _Storing:
    """What the converter storing ``step``'s submission carries (up the ``parent`` chain:
    nbconvert's exporter, then the converter)."""
    owner = step.parent
    while owner is not None and not isinstance(owner, StoreAutograde):
        owner = owner.parent
    if owner is None:
        raise JobError(f"{type(step).__name__} runs only in gradekit's StoreAutograde converter")
    return owner.storing


class UseSanitized(NbGraderPreprocessor):
    """Stands in for the sanitizing steps in nbgrader's converter: the notebook the job carried,
    sanitized by the same steps when the job was prepared, replaces the one nbgrader just read
    (which must still be the one submitted then). A notebook the job could not sanitize goes
    through nbgrader's steps again, which fail it as ``nbgrader autograde`` would."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        storing = _storing(self)
        name = resources["nbgrader"]["notebook"]
        if name not in storing.job.notebooks:
            return sanitize_notebook(nb, resources, storing.config, self)
        if storing.job.submitted_keys.get(name) != content_key(nb, name):
            raise JobError(f"{name} changed while it was being graded: grade it again")
        return nbformat.reads(
            storing.job.notebooks[name], as_version=nbformat.NO_CONVERT
        ), resources


class UseOutcome(NbGraderPreprocessor):
    """Stands in for the execution steps in nbgrader's converter: the notebook a worker executed
    and graded replaces the one nbgrader just sanitized (which must be the one the worker got)."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        outcome = _storing(self).outcome
        name = resources["nbgrader"]["notebook"]
        if outcome.keys.get(name) != content_key(nb, name):
            raise JobError(f"{name} changed while it was being graded: grade it again")
        return nbformat.reads(outcome.notebooks[name], as_version=nbformat.NO_CONVERT), resources


class StoreAutograde(Autograde):
    """nbgrader's ``Autograde`` converter that stores one worker's outcome, and gives an
    unreadable notebook zero points (as if it were missing) instead of failing the whole
    submission.

    Args:
        storing: The job and outcome its :class:`UseSanitized` and :class:`UseOutcome` use.
        runtime: The runtime its other steps use (:func:`gradekit.nbgrader.runtime.runtime_of`).
        **kwargs: For nbgrader's ``Autograde`` (``coursedir``, ``config``).
    """

    def __init__(self, *, storing: _Storing, runtime: Runtime, **kwargs: Any):
        super().__init__(**kwargs)
        self.storing = storing
        setattr(self, RUNTIME_ATTRIBUTE, runtime)

    def convert_single_notebook(self, notebook_filename: str) -> None:
        try:
            nbformat.read(notebook_filename, as_version=nbformat.NO_CONVERT)
        except Exception as error:
            self.log.error("%s is not a readable notebook: %s", notebook_filename, error)
            resources = self.init_single_notebook_resources(notebook_filename)
            info = resources["nbgrader"]
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gradebook:
                notebook = gradebook.find_submission_notebook(
                    info["notebook"], info["assignment"], info["student"]
                )
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gradebook.db.commit()
            return
        super().convert_single_notebook(notebook_filename)


def storing_steps(configured: Iterable[Any]) -> list[type]:
    """The configured autograde steps with the execution steps replaced by :class:`UseOutcome`.

    Raises:
        JobError: If the configuration does not use the kit's trusted graders.
    """
    steps = [import_item(step) if isinstance(step, str) else step for step in configured]
    if not any(issubclass(step, TrustedGrades) for step in steps):
        raise JobError(
            "nbgrader_config.py does not list gradekit's TrustedGrades in "
            "Autograde.autograde_preprocessors"
        )
    execution = (HideHiddenTests, Execute, TrustedGrades)
    replaced: list[type] = []
    for step in steps:
        if not issubclass(step, execution):
            replaced.append(step)
        elif UseOutcome not in replaced:
            replaced.append(UseOutcome)
    return replaced


def store_outcome(*, course: Course, job: Job, outcome: Outcome, runtime: Runtime) -> str:
    """Save a worker's outcome of ``job`` through nbgrader's ``Autograde`` converter.

    Args:
        course: The course.
        job: The job the worker got.
        outcome: What the worker sent back.
        runtime: The coordinator's runtime (for the steps that need one).

    Returns:
        nbgrader's log of the conversion.

    Raises:
        JobError: If nbgrader could not store it (the message has nbgrader's reason).
    """
    config = copy.deepcopy(course.config)
    configured = config.get("Autograde", {}).get("autograde_preprocessors", [])
    config.Autograde.autograde_preprocessors = storing_steps(configured)
    config.Autograde.sanitize_preprocessors = [UseSanitized]
    coursedir = CourseDirectory(config=config, root=str(course.root))
    coursedir.assignment_id = outcome.assignment
    coursedir.student_id = outcome.student
    converter = StoreAutograde(
        storing=_Storing(job, outcome, course.config),
        runtime=runtime,
        coursedir=coursedir,
        config=config,
    )
    converter.force = True
    converter.create_student = True
    result = capture_log(converter)
    if not result["success"]:
        raise JobError(_last_error(result.get("log", "") + result.get("error", "")))
    return str(result.get("log", ""))


def _last_error(text: str) -> str:
    """The most telling line of an nbgrader log or traceback: the kit's own reason if one of its
    steps refused (nbgrader ends every failure with the same general line), else the last error.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    own = [line.split("JobError: ", 1)[1] for line in lines if "JobError: " in line]
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (own or errors or lines or ["nbgrader failed without a message"])[-1][:400]
