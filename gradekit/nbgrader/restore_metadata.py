"""A sanitizing step: every cell's nbgrader metadata is what the assignment says it is."""

from __future__ import annotations

from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

#: Restored cells listed per notebook at most.
MAX_RESTORED = 20
#: Keys of a cell's nbgrader metadata that nbgrader itself keeps up to date.
_NBGRADER_OWN = ("checksum", "schema_version", "cell_type")


class RestoreCellMetadata(NbGraderPreprocessor):
    """A sanitizing step before nbgrader's ``OverwriteCells``: every cell's nbgrader metadata is
    what the assignment says it is.

    nbgrader 0.9.6 restores a known cell's points, lock and source, but trusts the submission's
    ``grade``/``solution``/``task`` flags: a solution cell flagged ``grade: true`` fails the
    whole submission. Here a cell whose grade id the gradebook knows gets the flags, points and
    lock of the assignment's cell; metadata that names no cell of the assignment (an unknown id,
    none at all, or what ``DeduplicateIds`` leaves of a duplicated cell) is removed, so the cell
    becomes an ordinary one, and ``OverwriteCells.add_missing_cells`` puts back what is really
    missing. Each change is logged and listed in the notebook's metadata (``gradekit``
    ``restored``), for the batch summary and the report.
    """

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            expected = _assignment_metadata(notebook)
        restored = []
        nb.metadata.pop("gradekit", None)  # only the kit writes there
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {})
            if "nbgrader" not in meta:
                continue
            ours = meta["nbgrader"]
            grade_id = ours.get("grade_id") if isinstance(ours, dict) else None
            if grade_id not in expected:
                self.log.warning("Cell %d: nbgrader metadata names no cell: removed", index + 1)
                del meta["nbgrader"]
                continue
            wanted = expected[grade_id]
            changed = sorted(key for key, value in wanted.items() if ours.get(key) != value)
            unknown = [key for key in ours if key not in (*wanted, *_NBGRADER_OWN)]
            for key in unknown:
                del ours[key]
            if unknown:
                changed.append(f"{len(unknown)} unknown key(s)")
            if changed:
                ours.update(wanted)
                note = f"cell {index + 1} '{grade_id}': {', '.join(changed)} restored"
                self.log.warning("Cell metadata changed by the submission: %s", note)
                restored.append(note)
        if restored:
            nb.metadata.setdefault("gradekit", {})["restored"] = restored[:MAX_RESTORED]
        return nb, resources


def _assignment_metadata(notebook: Any) -> dict[str, dict[str, Any]]:
    """Grade id -> the nbgrader flags the assignment's cell has (from the gradebook)."""
    grades = {cell.name: cell for cell in notebook.grade_cells}
    solutions = {cell.name for cell in notebook.solution_cells}
    tasks = {cell.name: cell for cell in notebook.task_cells}
    found = {}
    for source in notebook.source_cells:
        meta: dict[str, Any] = {
            "grade_id": source.name,
            "grade": source.name in grades,
            "solution": source.name in solutions,
            "task": source.name in tasks,
            "locked": bool(source.locked),
        }
        if source.name in grades:
            meta["points"] = float(grades[source.name].max_score)
        elif source.name in tasks:
            meta["points"] = float(tasks[source.name].max_score)
        found[source.name] = meta
    return found
