"""The benchmark's floor: nbgrader executing a notebook with its public checks only."""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from gradekit.core.cells import HiddenTests


class PublicChecksOnly(NbGraderPreprocessor):
    """Remove the hidden tests, so that the kernel runs the notebook and its public checks."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        hidden = HiddenTests.from_config(self.config)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = hidden.removed_from(cell.source)
        return nb, resources
