"""The trusted results in an autograded notebook: what nbgrader scores and what the kit keeps.

Each autograded test cell's outputs become the feedback text and a plain number (nbgrader's
``SaveAutoGrades`` turns that number into partial credit); the detailed results, a
:class:`gradekit.core.scoring.NotebookResult` as JSON, go into the notebook's metadata under
``gradekit``, where the batch summary and the report read them.
"""

from __future__ import annotations

from typing import Any

from nbformat.notebooknode import NotebookNode, from_dict

from gradekit.core.cells import is_autograded_test
from gradekit.core.scoring import NotebookResult


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
    """The results :func:`write_results` stored in an autograded notebook, if any."""
    data = nb.get("metadata", {}).get("gradekit")
    return NotebookResult.from_json(data) if data else None
