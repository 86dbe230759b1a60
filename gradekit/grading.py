"""Grading one notebook: run the check suite in this (trusted) process against a sandboxed worker.

:func:`grade_notebook` is what nbgrader's autograde step, the CLI and the kit's tests call. It runs
the pytest suite in-process (torch and the reference implementation are imported once per
grading process) with a :class:`gradekit.pytest_plugin.GradingSession`, and turns the check
results into points per grade cell.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gradekit.notebook import Notebook
from gradekit.pytest_plugin import GradingSession, grade_item_of
from gradekit.sandbox import Channel, Limits
from gradekit.scoring import ItemResult, NotebookResult

#: pytest options for an in-process run: quiet, no cache files, no assertion rewriting notes,
#: and none of the plugins that only watch for problems of the suite itself (the unraisable- and
#: thread-exception plugins run gc.collect five times per session, about 0.4 s with torch loaded).
_QUIET = [
    "-o",
    "addopts=",
    *("-p", "no:cacheprovider"),
    *("-p", "no:terminal"),
    *("-p", "no:logging"),
    *("-p", "no:unraisableexception"),
    *("-p", "no:threadexception"),
    "--capture=no",
    *("-W", "ignore"),
]


class GradingError(RuntimeError):
    """The check suite itself could not run (a problem of the kit, never of the student)."""


def grade_notebook(
    *,
    notebook: Notebook,
    suite: Path,
    support_files: dict[str, str],
    limits: Limits,
    start_channel: Callable[[], Channel] | None = None,
) -> NotebookResult:
    """Run every check of ``suite`` that belongs to a grade cell of ``notebook``.

    Args:
        notebook: The submission.
        suite: Folder of the pytest check suite (its ``conftest.py`` loads the submission).
        support_files: The assignment's helper modules (name -> text), from the source folder.
        limits: Limits of the student's process.
        start_channel: Starts the student's process (default: a sandboxed worker).

    Returns:
        Points and check results for every autograded grade cell of the notebook.

    Raises:
        GradingError: If the suite could not be collected or run.
    """
    started = time.monotonic()
    session = GradingSession(
        notebook=notebook,
        support_files=support_files,
        limits=limits,
        start_channel=start_channel,
    )
    exit_code = _run_pytest([str(suite), "--rootdir", str(suite.parent), *_QUIET], session)
    ran = exit_code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    if not ran and notebook.autograded_ids:
        raise GradingError(f"the check suite {suite} did not run (pytest exit code {exit_code})")
    points = {cell.grade_id: cell.points for cell in notebook.grade_cells}
    result = NotebookResult(notebook=notebook.name)
    for grade_id in notebook.autograded_ids:
        checks = [check for check in session.results.values() if check.item == grade_id]
        if not checks:
            raise GradingError(f"the check suite has no checks for grade cell '{grade_id}'")
        result.items[grade_id] = ItemResult(grade_id, points[grade_id], checks)
    if session.submission is not None:
        result.load_problems = session.submission.load_report.problems
        result.incidents = list(session.submission.incidents)
    result.seconds = time.monotonic() - started
    return result


def count_checks(suite: Path, grade_ids: list[str]) -> dict[str, int]:
    """How many checks the suite has for each grade id (collection only, no notebook needed)."""
    counts = dict.fromkeys(grade_ids, 0)

    class _Counter:
        @pytest.hookimpl(trylast=True)
        def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
            for item in items:
                grade_id = grade_item_of(item, grade_ids)
                if grade_id is not None:
                    counts[grade_id] += 1

    args = [str(suite), "--rootdir", str(suite.parent), "--collect-only", *_QUIET]
    if _run_pytest(args, _Counter()) not in (
        pytest.ExitCode.OK,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        raise GradingError(f"the check suite {suite} could not be collected")
    return counts


def _run_pytest(args: list[str], plugin: object) -> int:
    # Without the terminal, warnings, faulthandler and capture plugins pytest prints nothing and
    # touches no process-wide state, so it can run in a thread next to nbgrader's executor.
    return int(pytest.main(args, plugins=[plugin]))
