"""nbgrader integration: the grades nbgrader stores come from the trusted graders.

Two preprocessors wrap nbgrader's ``Execute`` step of ``nbgrader autograde``
(``nbgrader_config.py`` lists them in ``Autograde.autograde_preprocessors``):

- :class:`HideHiddenTests` runs before execution: the student's kernel runs only the public part
  of each test cell, so hidden test code never enters the student's process. It also starts the
  trusted grading in a thread, since grading needs only the notebook's definitions: the checks
  run while the kernel executes the notebook.
- :class:`TrustedGrades` runs after execution: it grades the notebook with the check suite in this
  process (the student's code runs in a separate sandboxed worker) and replaces every autograded
  test cell's outputs with the feedback text and a plain number, which nbgrader's
  ``SaveAutoGrades`` turns into partial credit. Whatever the student's kernel printed in those
  cells is discarded. The detailed results go into the notebook's metadata (``gradekit``).

Settings: :class:`gradekit.course.GradeKit` (``c.GradeKit.call_timeout = 30`` and so on).
"""

from __future__ import annotations

import copy
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from gradekit.course import Course
from gradekit.grading import grade_notebook
from gradekit.notebook import as_nbformat, notebook_from_dict, strip_hidden_tests
from gradekit.pytest_plugin import support_files
from gradekit.scoring import NotebookResult

_STASH = "gradekit_hidden_tests"
_GRADING = "gradekit_grading"


def is_autograded_test(cell: NotebookNode) -> bool:
    """A code grade cell that is not a solution: its output decides its points."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution", False)


def _grade(nb: NotebookNode, resources: ResourcesDict, config: Any) -> NotebookResult:
    """Grade the notebook as it is now (only its definitions matter, not its outputs)."""
    course = Course(root=Path(CourseDirectory(config=config).root), config=config)
    assignment = resources["nbgrader"]["assignment"]
    return grade_notebook(
        notebook=notebook_from_dict(as_nbformat(nb), name=resources["nbgrader"]["notebook"]),
        suite=course.suite,
        support_files=support_files(course.path("source", assignment=assignment)),
        limits=course.settings.limits(),
    )


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test regions before the student's kernel runs the notebook, and start the
    trusted grading: it needs only the definitions, so it runs while the kernel executes."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradekit")
        resources[_GRADING] = executor.submit(_grade, copy.deepcopy(nb), resources, self.config)
        executor.shutdown(wait=False)
        stash = {}
        for index, cell in enumerate(nb.cells):
            if is_autograded_test(cell):
                stash[index] = cell.source
                cell.source = strip_hidden_tests(cell.source)
        resources[_STASH] = stash
        return nb, resources


class TrustedGrades(NbGraderPreprocessor):
    """Write the trusted results into the test cells' outputs (grading now if not started)."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        for index, source in resources.pop(_STASH, {}).items():
            nb.cells[index].source = source
        grading: Future[NotebookResult] | None = resources.pop(_GRADING, None)
        result = grading.result() if grading else _grade(nb, resources, self.config)
        write_results(nb, result)
        self.log.info(
            "Trusted grades for %s: %s / %s points in %.1f s",
            result.notebook,
            result.points,
            result.max_points,
            result.seconds,
        )
        return nb, resources


def write_results(nb: NotebookNode, result: NotebookResult) -> None:
    """Replace each autograded test cell's outputs with its feedback and points."""
    for cell in nb.cells:
        if not is_autograded_test(cell):
            continue
        item = result.items[cell.metadata.nbgrader.grade_id]
        cell.outputs = [
            from_dict({"output_type": "stream", "name": "stdout", "text": item.feedback() + "\n"}),
            from_dict(
                {
                    "output_type": "execute_result",
                    "execution_count": cell.get("execution_count"),
                    "metadata": {},
                    "data": {"text/plain": repr(float(item.points))},
                }
            ),
        ]
    nb.metadata["gradekit"] = result.to_json()


def read_results(nb: NotebookNode | dict[str, Any]) -> NotebookResult | None:
    """The results :class:`TrustedGrades` stored in an autograded notebook, if any."""
    data = nb.get("metadata", {}).get("gradekit")
    return NotebookResult.from_json(data) if data else None
