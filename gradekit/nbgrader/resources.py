"""What the kit's nbgrader steps hand each other in a notebook's resources, and their grading.

nbgrader runs the steps of ``Autograde.autograde_preprocessors`` one after another on a notebook
and its resources (nbconvert's ``ResourcesDict``); the kit's steps pass what the next one needs
under these keys: :class:`gradekit.nbgrader.hide_hidden_tests.HideHiddenTests` puts the hidden
test code aside (:data:`STASH`), starts the trusted grading (:data:`GRADING`) and the submission's
time budget (:data:`BUDGET`); :class:`gradekit.nbgrader.sandboxed_execute.SandboxedExecute` says
what went wrong while executing (:data:`EXECUTION_PROBLEMS`);
:class:`gradekit.nbgrader.trusted_grades.TrustedGrades` takes them all back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.coursedir import CourseDirectory

from gradekit.checks.grading import SuiteSessions, grade_notebook
from gradekit.checks.pytest_plugin import support_files
from gradekit.core.notebook import as_nbformat, notebook_from_dict
from gradekit.core.scoring import NotebookResult
from gradekit.nbgrader.course import Course
from gradekit.sandbox.budget import UNLIMITED, Budget

#: The test cells' sources before the hidden tests were removed (cell index -> source).
STASH = "gradekit_hidden_tests"
#: The notebook's trusted grading (a ``Future`` of its :class:`NotebookResult`).
GRADING = "gradekit_grading"
#: The submission's :class:`gradekit.sandbox.budget.Budget`, in a notebook's resources.
BUDGET = "gradekit_budget"
#: What went wrong while the notebook was executed (one line each).
EXECUTION_PROBLEMS = "gradekit_execution_problems"


def grade_in_course(
    nb: NotebookNode,
    resources: ResourcesDict,
    config: Any,
    sessions: SuiteSessions,
    budget: Budget = UNLIMITED,
) -> NotebookResult:
    """Grade the notebook as it is now (only its definitions matter, not its outputs), in
    ``sessions``."""
    course = course_of(config)
    assignment = resources["nbgrader"]["assignment"]
    return grade_notebook(
        notebook=notebook_from_dict(as_nbformat(nb), name=resources["nbgrader"]["notebook"]),
        suite=course.suite(assignment),
        support_files=support_files(course.path("source", assignment=assignment)),
        limits=course.settings.limits(),
        sessions=sessions,
        budget=budget,
    )


def course_of(config: Any) -> Course:
    """The course that nbgrader's ``config`` describes (its root is ``CourseDirectory.root``)."""
    return Course(root=Path(CourseDirectory(config=config).root), config=config)
