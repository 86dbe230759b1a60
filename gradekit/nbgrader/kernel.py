"""Grading one cell inside a running Jupyter kernel: the hidden part of the source notebooks.

Each autograded test cell of the instructor's notebooks ends with::

    ### BEGIN HIDDEN TESTS
    from gradekit.nbgrader.kernel import grade_cell
    float(grade_cell("activations"))
    ### END HIDDEN TESTS

In the instructor's own kernel (``nbgrader validate`` of the source, or running it in Jupyter)
this grades the cell against the kernel's live definitions and prints the feedback. During
``nbgrader autograde`` these lines never run:
:class:`gradekit.nbgrader.hide_hidden_tests.HideHiddenTests` removes them and
:class:`gradekit.nbgrader.trusted_grades.TrustedGrades` grades in a separate process. This in-kernel
path is for trusted code only (it runs the checks in the kernel's process). The kernel's IPython
shell owns the suite sessions of its cells (closed with the shell, at the latest when the kernel
exits): a suite is collected once per kernel, not once per cell.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gradekit.checks.grading import SuiteSessions, grade_notebook
from gradekit.checks.pytest_plugin import support_files
from gradekit.core.cells import grade_id as cell_grade_id
from gradekit.core.notebook import notebook_from_dict
from gradekit.nbgrader.course import Course
from gradekit.sandbox.channels import InProcessChannel
from gradekit.sandbox.leftovers import folder_prefix
from gradekit.sandbox.worker import Worker


def grade_cell(grade_id: str, namespace: dict[str, Any] | None = None) -> float:
    """Grade one autograded cell against the current kernel's definitions.

    Args:
        grade_id: The cell's nbgrader grade id.
        namespace: The definitions to grade (default: the running IPython kernel's namespace).

    Returns:
        The points earned, as a plain ``float`` (nbgrader's partial credit).
    """
    from IPython import get_ipython

    shell = get_ipython()
    if namespace is None:
        namespace = shell.user_ns
    course = Course.find()
    cell, source_dir = _find_source_cell(course.root / course.coursedir.source_directory, grade_id)
    workdir = Path(tempfile.mkdtemp(prefix=folder_prefix("kernel")))
    with _sessions_of(shell) as sessions:
        result = grade_notebook(
            notebook=notebook_from_dict({"cells": [cell]}, name=source_dir.name),
            suite=course.suite(source_dir.name),
            support_files=support_files(source_dir),
            limits=course.settings.limits(),
            sessions=sessions,
            start_channel=lambda: InProcessChannel(Worker(namespace=namespace, workdir=workdir)),
        )
    item = result.items[grade_id]
    print(item.feedback())
    return float(item.points)


#: The attribute of the IPython shell that holds its suite sessions.
_SESSIONS_ATTRIBUTE = "gradekit_suite_sessions"


@contextlib.contextmanager
def _sessions_of(shell: Any) -> Iterator[SuiteSessions]:
    """The suite sessions of the kernel's ``shell`` (made on its first grade cell); outside a
    kernel (``shell`` is None), sessions for this call only."""
    if shell is None:
        with SuiteSessions() as sessions:
            yield sessions
        return
    kept = getattr(shell, _SESSIONS_ATTRIBUTE, None)
    if not isinstance(kept, SuiteSessions):
        kept = SuiteSessions()
        setattr(shell, _SESSIONS_ATTRIBUTE, kept)
        weakref.finalize(shell, kept.close)
    yield kept


def _find_source_cell(source_root: Path, grade_id: str) -> tuple[dict[str, Any], Path]:
    for path in sorted(source_root.glob("*/*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell_grade_id(cell) == grade_id:
                return cell, path.parent
    raise KeyError(f"no grade cell '{grade_id}' in the source notebooks under {source_root}")
