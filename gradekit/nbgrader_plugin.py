"""nbgrader integration: the grades nbgrader stores come from the trusted graders.

Two preprocessors wrap nbgrader's ``Execute`` step of ``nbgrader autograde``
(``nbgrader_config.py`` lists them in ``Autograde.autograde_preprocessors``):

- :class:`HideHiddenTests` runs before execution: the student's kernel runs only the public part
  of each test cell, so hidden test code never enters the student's process.
- :class:`TrustedGrades` runs after execution: it grades the notebook with the check suite in this
  process (the student's code runs in a separate sandboxed worker) and replaces every autograded
  test cell's outputs with the feedback text and a plain number, which nbgrader's
  ``SaveAutoGrades`` turns into partial credit. Whatever the student's kernel printed in those
  cells is discarded. The detailed results go into the notebook's metadata (``gradekit``).

Settings: :class:`gradekit.course.GradeKit` (``c.GradeKit.call_timeout = 30`` and so on).
"""

from __future__ import annotations

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


def is_autograded_test(cell: NotebookNode) -> bool:
    """A code grade cell that is not a solution: its output decides its points."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution", False)


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test regions before the student's kernel runs the notebook."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        stash = {}
        for index, cell in enumerate(nb.cells):
            if is_autograded_test(cell):
                stash[index] = cell.source
                cell.source = strip_hidden_tests(cell.source)
        resources[_STASH] = stash
        return nb, resources


class TrustedGrades(NbGraderPreprocessor):
    """Grade in the trusted process and write the results into the test cells' outputs."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        for index, source in resources.pop(_STASH, {}).items():
            nb.cells[index].source = source
        course = Course(root=Path(CourseDirectory(config=self.config).root), config=self.config)
        assignment = resources["nbgrader"]["assignment"]
        result = grade_notebook(
            notebook=notebook_from_dict(as_nbformat(nb), name=resources["nbgrader"]["notebook"]),
            suite=course.suite,
            support_files=support_files(course.path("source", assignment=assignment)),
            limits=course.settings.limits(),
        )
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
