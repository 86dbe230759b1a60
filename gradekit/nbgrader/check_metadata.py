"""nbgrader's ``CheckCellMetadata`` step, validating each distinct cell once per runtime."""

from __future__ import annotations

import json
import traceback

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import preprocessors as nbgrader_steps
from nbgrader.nbgraderformat import MetadataValidator, ValidationError

from gradekit.nbgrader.runtime import runtime_of

#: Cells a runtime remembers as valid at most (then it forgets them all and starts again).
MAX_REMEMBERED = 10_000


class CheckCellMetadata(nbgrader_steps.CheckCellMetadata):
    """nbgrader's ``CheckCellMetadata`` step, which validates each distinct cell once per runtime.

    nbgrader validates every cell's nbgrader metadata against its JSON schema and checks the
    schema itself before each cell (about 50 ms per notebook, run twice for every notebook
    autograded). The result of a cell's checks depends only on its type and its metadata (the
    source appears only in the message of a failure), so a cell whose type and metadata are
    those of a cell that passed before (in the same runtime, :mod:`gradekit.nbgrader.runtime`:
    its ``validated_cells``, at most :data:`MAX_REMEMBERED`) passes again without the work.
    Failures and cells that make nbgrader log a warning are checked every time; the duplicate-id
    check of the whole notebook always runs.
    """

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        try:
            _RememberingValidator(runtime_of(self).validated_cells).validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            # nbgrader's own message, so that its log reads the same.
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources


class _RememberingValidator(MetadataValidator):
    """nbgrader's metadata validator, remembering the cells that passed (type and metadata) in
    ``passed``."""

    def __init__(self, passed: set[str]):
        super().__init__()
        self._passed = passed

    def validate_cell(self, cell: NotebookNode) -> None:
        meta = cell.metadata.get("nbgrader")
        if meta is None:  # nbgrader checks nothing in such a cell
            return
        key = json.dumps([cell.cell_type, meta], sort_keys=True, default=repr)
        if key in self._passed:
            return
        super().validate_cell(cell)
        # A changed cell type makes nbgrader log a warning: it must be logged again next time.
        if isinstance(meta, dict) and meta.get("cell_type", cell.cell_type) == cell.cell_type:
            if len(self._passed) >= MAX_REMEMBERED:
                self._passed.clear()
            self._passed.add(key)
