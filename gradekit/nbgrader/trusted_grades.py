"""The step after execution: the grades nbgrader stores come from the trusted graders.

The kit's steps wrap nbgrader's ``Execute`` step of ``nbgrader autograde``
(``nbgrader_config.py`` lists them in ``Autograde.autograde_preprocessors``):
:class:`gradekit.nbgrader.hide_hidden_tests.HideHiddenTests` before it,
:class:`gradekit.nbgrader.sandboxed_execute.SandboxedExecute` instead of it, and
:class:`TrustedGrades` after it. :class:`TrustedGrades` grades the notebook with the check suite
in this process (the student's code runs in a separate sandboxed worker), unless the grading
was started ahead, and replaces every autograded test cell's outputs with the feedback text and
a plain number, which nbgrader's ``SaveAutoGrades`` turns into partial credit
(:mod:`gradekit.nbgrader.results`). Whatever the student's kernel printed in those cells is
discarded.

Settings: :class:`gradekit.nbgrader.course.GradeKit` (``c.GradeKit.call_timeout = 30`` and so on).
"""

from __future__ import annotations

from concurrent.futures import Future

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from gradekit.core.scoring import NotebookResult
from gradekit.nbgrader.resources import EXECUTION_PROBLEMS, GRADING, STASH, grade_in_course
from gradekit.nbgrader.restore_metadata import MAX_RESTORED
from gradekit.nbgrader.results import write_results
from gradekit.nbgrader.runtime import runtime_of


class TrustedGrades(NbGraderPreprocessor):
    """Write the trusted results into the test cells' outputs (grading now if not started)."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        for index, source in resources.pop(STASH, {}).items():
            nb.cells[index].source = source
        grading: Future[NotebookResult] | None = resources.pop(GRADING, None)
        if grading is not None:
            result = grading.result()
        else:
            result = grade_in_course(nb, resources, self.config, runtime_of(self).suites)
        result.execution_problems = list(resources.pop(EXECUTION_PROBLEMS, []))
        restored = nb.metadata.get("gradekit", {}).get("restored", [])
        result.incidents += [f"metadata: {note}" for note in restored[:MAX_RESTORED]]
        write_results(nb, result)
        self.log.info(
            "Trusted grades for %s: %s / %s points in %.1f s",
            result.notebook,
            result.points,
            result.max_points,
            result.seconds,
        )
        return nb, resources
