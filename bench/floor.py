"""The benchmark's floor: nbgrader executing a notebook with its public checks only."""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from gradekit.notebook import strip_hidden_tests


class PublicChecksOnly(NbGraderPreprocessor):
    """Remove the hidden tests, so that the kernel runs the notebook and its public checks."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = strip_hidden_tests(cell.source)
        return nb, resources
