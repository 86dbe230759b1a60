"""The step before execution: hidden test code never enters the student's kernel, and the trusted
grading starts.

:class:`HideHiddenTests` runs before nbgrader's ``Execute``: the student's kernel runs only the
public part of each test cell. It also starts the trusted grading in the thread of its runtime's
:class:`gradekit.nbgrader.gradings.Gradings`, since grading needs only the notebook's definitions:
the checks run while the kernel executes the notebook (at a submission's first notebook the
submission's other notebooks are graded ahead too).
:class:`gradekit.nbgrader.trusted_grades.TrustedGrades` puts the hidden code back and waits for the
grading.
"""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from gradekit.core.cells import HiddenTests, is_autograded_test
from gradekit.nbgrader.resources import GRADING, STASH, course_of
from gradekit.nbgrader.runtime import runtime_of


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test regions before the student's kernel runs the notebook, and start the
    trusted grading: it needs only the definitions, so it runs while the kernel executes."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        if GRADING not in resources:  # a batch worker starts its gradings itself
            runtime = runtime_of(self)
            course = course_of(self.config)
            # Before the submission's budget starts (in claim): the kit's start-up is not theirs.
            runtime.warm_up(
                suite=course.suite(resources["nbgrader"]["assignment"]),
                kernel_limits=course.settings.limits(),
            )
            resources[GRADING] = runtime.gradings.claim(
                nb, resources, step=self, suites=runtime.suites
            )
        stash = {}
        hidden = HiddenTests.from_config(self.config)
        for index, cell in enumerate(nb.cells):
            if is_autograded_test(cell):
                stash[index] = cell.source
                cell.source = hidden.removed_from(cell.source)
        resources[STASH] = stash
        return nb, resources
