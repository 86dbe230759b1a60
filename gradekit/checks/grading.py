"""Grading one notebook: run the check suite in this (trusted) process against a sandboxed worker.

:func:`grade_notebook` is what nbgrader's autograde step, the CLI and the kit's tests call. The
checks run in-process in a :class:`SuiteSession`: one pytest session per suite that configures and
collects the suite once and then runs each notebook's checks in it, so neither pytest's start nor
the collection of several hundred parametrized checks is paid per notebook (the libraries and
the reference implementation are imported once per grading process, too). Whoever grades owns
the sessions, a :class:`SuiteSessions` (one per runtime, see :mod:`gradekit.nbgrader.runtime`),
passes it in and closes it when done. A
:class:`gradekit.checks.pytest_plugin.GradingSession` turns the check results into points per grade
cell.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest

from gradekit.checks.pytest_plugin import GradingSession, grade_item_of
from gradekit.core.notebook import Notebook
from gradekit.core.scoring import CheckResult, ItemResult, NotebookResult
from gradekit.sandbox.budget import UNLIMITED, Budget
from gradekit.sandbox.channels import Channel
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.submission import MAX_SANDBOX_LOSSES
from gradekit.sandbox.workers import WorkerPool

#: pytest options for an in-process run: quiet, no cache files, no assertion rewriting (the
#: checks fail with messages of their own; an import hook left in ``sys.meta_path`` for the life of
#: a session would also rewrite the modules other code imports meanwhile), and none of the
#: plugins that only watch for problems of the suite itself (the unraisable- and thread-exception
#: plugins run gc.collect five times per session, about 0.4 s with a large library loaded).
_QUIET = [
    "-o",
    "addopts=",
    *("-p", "no:cacheprovider"),
    *("-p", "no:terminal"),
    *("-p", "no:logging"),
    *("-p", "no:unraisableexception"),
    *("-p", "no:threadexception"),
    # Its handler cancels any pending faulthandler timer at every failing check, which would
    # disarm the hard stop of gradekit.sandbox.budget.hard_stop.
    *("-p", "no:faulthandler"),
    "--capture=no",
    "--assert=plain",
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
    sessions: SuiteSessions,
    start_channel: Callable[[], Channel] | None = None,
    budget: Budget = UNLIMITED,
) -> NotebookResult:
    """Run every check of ``suite`` that belongs to a grade cell of ``notebook``.

    Every wait on the student's process ends with ``budget``; should the checks still not be
    done :data:`gradekit.sandbox.budget.HARD_STOP_MARGIN` seconds after it, their session is
    abandoned (the next notebook gets a new one) and every check not run fails with the budget's
    reason.

    Args:
        notebook: The submission.
        suite: Folder of the pytest check suite (its ``conftest.py`` loads the submission).
        support_files: The assignment's helper modules (name -> text), from the source folder.
        limits: Limits of the student's process.
        sessions: The suite sessions to run the checks in (the suite's is started on first use).
        start_channel: Starts the student's process (default: a sandboxed worker, started by
            the suite session's :class:`~gradekit.sandbox.workers.WorkerPool`).
        budget: The submission's wall-clock budget.

    Returns:
        Points and check results for every autograded grade cell of the notebook.

    Raises:
        GradingError: If the suite could not be collected or run.
    """
    started = time.monotonic()
    suite_session = sessions.of(suite)
    session = GradingSession(
        notebook=notebook,
        support_files=support_files,
        limits=limits,
        start_channel=start_channel,
        workers=suite_session.workers,
        budget=budget,
    )
    stopped = not suite_session.run(session, budget)
    points = {cell.grade_id: cell.points for cell in notebook.grade_cells}
    result = NotebookResult(notebook=notebook.name)
    for grade_id in notebook.autograded_ids:
        checks = [check for check in dict(session.results).values() if check.item == grade_id]
        if stopped:
            checks.append(_not_run(grade_id, budget))
        elif not checks:
            raise GradingError(f"the check suite has no checks for grade cell '{grade_id}'")
        result.items[grade_id] = ItemResult(grade_id, points[grade_id], checks)
    losses = sum(submission.sandbox_losses for submission in session.submissions)
    if any(s.sandbox_losses > MAX_SANDBOX_LOSSES for s in session.submissions):
        raise GradingError(
            f"the sandbox of the student's process was lost {losses} times (not the student's "
            "doing: the machine killed it); grade this submission again"
        )
    if session.submissions:
        # A statement that failed in one process only failed for want of a reference name that
        # process may not hold (or of a package absent there): not the student's problem.
        reports = [submission.load_report.problems for submission in session.submissions]
        result.load_problems = [p for p in reports[0] if all(p in other for other in reports[1:])]
        result.incidents = [i for s in session.submissions for i in s.incidents]
    if stopped:
        result.incidents.append(f"budget: {budget.reason()}; its checks were stopped")
    result.seconds = time.monotonic() - started
    return result


def _not_run(grade_id: str, budget: Budget) -> CheckResult:
    """The stand-in for the checks of a cell that the hard stop left unrun."""
    return CheckResult(
        item=grade_id,
        name="not_run_time_budget",
        weight=1e6,  # the checks that did run count for nothing next to those not run
        passed=False,
        message=f"grading stopped: {budget.reason()}; the remaining checks were not run",
        kind="timeout",
    )


class SuiteSessions:
    """The suite sessions of one owner (a runtime, a test): one per suite, closed together.

    A session starts on a suite's first notebook and is replaced when it broke. Copies of a course
    that link the same suite share one session: the checks' ids, and so their hidden inputs, are
    those of the suite's real folder. Two owners never share a session.
    """

    def __init__(self) -> None:
        self._sessions: dict[Path, SuiteSession] = {}
        self._lock = threading.Lock()

    def of(self, suite: Path) -> SuiteSession:
        """The session of ``suite`` (started on first use, replaced if broken)."""
        suite = suite.resolve()
        with self._lock:
            session = self._sessions.get(suite)
            if session is None or session.broken:
                if session is not None:
                    session.close(wait=0)
                session = self._sessions[suite] = SuiteSession(suite)
            return session

    def close(self, wait: float = 10.0) -> None:
        """End every session: their fixtures are torn down and their student processes and
        fork servers stopped (waiting up to ``wait`` seconds for each to finish its notebook)."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.close(wait=wait)

    def __enter__(self) -> SuiteSessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SuiteSession:
    """A pytest session over one check suite that runs one notebook's checks after another.

    A thread of its own runs ``pytest.main`` on the suite; instead of pytest's test loop, the
    session waits for notebooks (:meth:`run`), registers each notebook's
    :class:`~gradekit.checks.pytest_plugin.GradingSession` as a plugin, runs the checks it selects
    and tears everything down after the last one (the session-scoped fixtures too, which closes the
    student's process). The thread lives until :meth:`close`, and so does what the checks
    start in it: the session's :class:`~gradekit.sandbox.workers.WorkerPool` (a fork server dies
    with the thread that started it), closed when the thread ends. A session whose
    suite cannot be collected fails its notebook with :class:`GradingError`, and so does one that
    broke; its :class:`SuiteSessions` replaces either by a new one for the next notebook.

    Args:
        suite: Folder of the pytest check suite.
    """

    def __init__(self, suite: Path):
        self.suite = suite
        self.broken = False
        #: Starts the sandboxed workers of this session's notebooks (in its thread).
        self.workers = WorkerPool()
        self._collected = threading.Event()  # set when the suite is collected or the thread ends
        # None: close the session.
        self._requests: queue.SimpleQueue[tuple[GradingSession, Future[None]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._main, name="gradekit-checks", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the session's thread still runs."""
        return self._thread.is_alive()

    def wait_collected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the suite to be collected (or the session to stop).

        Returns:
            Whether it was collected (or stopped) in time.
        """
        return self._collected.wait(timeout)

    def close(self, wait: float = 10.0) -> None:
        """End the session after the notebook it is grading, if any (pytest tears its fixtures
        down, the thread closes its worker pool); wait up to ``wait`` seconds for that."""
        self.broken = True
        self._requests.put(None)
        if wait > 0 and threading.current_thread() is not self._thread:
            self._thread.join(wait)

    def run(self, grading: GradingSession, budget: Budget = UNLIMITED) -> bool:
        """Run the checks of ``grading``'s notebook; its results end up in ``grading``.

        Returns:
            ``False`` if the hard stop of ``budget`` came first: the session is then abandoned
            (marked broken, its processes killed) and ``grading`` holds the checks that ran.

        Raises:
            GradingError: If the suite could not be collected or the session broke.
        """
        done: Future[None] = Future()
        self._requests.put((grading, done))
        while True:
            if budget.hard_stop_in() <= 0:
                self.broken = True  # the next notebook gets a new session
                done.cancel()
                grading.close()  # whatever the checks wait for ends now
                return False
            try:
                done.result(timeout=min(1.0, budget.hard_stop_in()))
                return True
            except TimeoutError:
                # A session that stopped after this notebook was queued never answers it.
                dead = not self._thread.is_alive() and not done.done()
                if dead and done.set_running_or_notify_cancel():
                    done.set_exception(GradingError(f"the check suite {self.suite} stopped"))

    def _main(self) -> None:
        try:
            code = _run_pytest(
                [str(self.suite), "--rootdir", str(self.suite.parent), *_QUIET], self
            )
            error = GradingError(f"the check suite {self.suite} stopped (pytest exit code {code})")
        except BaseException as crash:  # never leave a notebook waiting
            error = GradingError(f"the check suite {self.suite} stopped ({crash!r})")
        self.broken = True
        self._collected.set()
        self.workers.close()
        while True:  # whatever arrived meanwhile
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            if request is None:
                continue
            _, done = request
            if done.set_running_or_notify_cancel():
                done.set_exception(error)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        collection_failed = bool(session.testsfailed)
        self._collected.set()
        while not self.broken:
            request = self._requests.get()
            if request is None:
                break
            grading, done = request
            if not done.set_running_or_notify_cancel():
                continue
            if collection_failed:  # the next notebook collects again (the suite may be fixed)
                self.broken = True
                done.set_exception(
                    GradingError(f"the check suite {self.suite} could not be collected")
                )
                continue
            try:
                self._run_checks(session, grading)
            except BaseException as error:
                # A check that escaped pytest's own handling may have left fixtures set up.
                self.broken = True
                done.set_exception(GradingError(f"the check suite {self.suite} broke ({error!r})"))
            else:
                done.set_result(None)
        return True

    @staticmethod
    def _run_checks(session: pytest.Session, grading: GradingSession) -> None:
        config = session.config
        config.pluginmanager.register(grading)
        try:
            selected = grading.select(session.items)
            for index, item in enumerate(selected):
                # After the last check, the next item is None: pytest tears everything down.
                after = selected[index + 1] if index + 1 < len(selected) else None
                config.hook.pytest_runtest_protocol(item=item, nextitem=after)
        finally:
            config.pluginmanager.unregister(grading)


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
