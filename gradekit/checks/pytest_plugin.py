"""pytest plugin: grade one notebook with a suite of checks.

``pytest SUITE --notebook PATH`` loads the notebook's definitions into a separate process and runs
the suite's checks against them. A check belongs to the grade cell whose ``grade_id`` it carries
as a marker (``@pytest.mark.activations``) and counts with its ``@pytest.mark.weight(w)``
(default 1); checks of grade cells the notebook does not have are deselected. Fixtures for the
suite's ``conftest.py``:

- ``student_process``: the :class:`gradekit.sandbox.submission.Submission` (a student process
  with the notebook loaded) in which the running check's grade cell is graded. The suite's
  ``conftest.py`` declares, in an ``assignment`` fixture, a
  :class:`gradekit.core.plans.Assignment`; the notebook's grade cells are grouped into processes
  by :func:`gradekit.core.plans.plan_processes`, each started on first use;
- ``load_submission(reference=None, provided=(), libraries=NO_LIBRARIES)``: one process for the
  whole notebook (suites without reference code or absent packages);
- ``notebook_grade_ids``: the grade ids of the notebook's autograded cells;
- ``graded_notebook``: the submission itself (trusted copy, for source checks);
- ``grade_item``: the grade id of the running check.

The results (one :class:`gradekit.core.scoring.CheckResult` per check) are kept on the
:class:`GradingSession` plugin object, printed as a per-cell summary, and written as JSON with
``--gradekit-json``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gradekit.core.compare import CheckFailed
from gradekit.core.disclosure import cap
from gradekit.core.libraries import NO_LIBRARIES, Libraries
from gradekit.core.notebook import Notebook, read_notebook
from gradekit.core.plans import Assignment, ProcessPlan, ReferencePackage, plan_processes
from gradekit.core.scoring import CheckResult
from gradekit.sandbox.budget import UNLIMITED, Budget
from gradekit.sandbox.channels import Channel
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.problems import (
    Forbidden,
    NotDefined,
    NotLoaded,
    StudentCodeError,
    StudentCrash,
    StudentTimeout,
)
from gradekit.sandbox.submission import Submission
from gradekit.sandbox.workers import WorkerPool

PLUGIN_NAME = "gradekit-session"
#: Longest failure message kept per check (the graders' messages may quote the student's values).
MAX_MESSAGE = 1000
SESSION = pytest.StashKey["GradingSession"]()
_KINDS = {
    StudentTimeout: "timeout",
    StudentCrash: "crash",
    NotDefined: "missing",
    Forbidden: "forbidden",
    NotLoaded: "load",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradekit", "grading one notebook")
    group.addoption("--notebook", help="the submitted notebook to grade")
    group.addoption(
        "--support-dir",
        help="folder with the assignment's non-notebook files (default: the notebook's folder)",
    )
    group.addoption("--gradekit-json", help="also write the check results as JSON to this file")
    group.addoption(
        "--call-timeout", type=float, help="seconds one call into student code may take"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "weight(value): the check's weight within its grade cell")
    config.addinivalue_line(
        "markers", "grade_cell(grade_id): the grade cell whose points the check counts for"
    )
    if config.pluginmanager.has_plugin(PLUGIN_NAME) or not config.getoption("--notebook"):
        return
    notebook_path = Path(config.getoption("--notebook")).resolve()
    support = config.getoption("--support-dir")
    limits = Limits()
    if config.getoption("--call-timeout"):
        limits = Limits(call_timeout=config.getoption("--call-timeout"))
    session = GradingSession(
        notebook=read_notebook(notebook_path),
        support_files=support_files(Path(support) if support else notebook_path.parent),
        limits=limits,
        json_path=config.getoption("--gradekit-json"),
    )
    config.pluginmanager.register(session, PLUGIN_NAME)
    config.stash[SESSION] = session


def _session(request: pytest.FixtureRequest) -> GradingSession:
    if SESSION not in request.config.stash:
        raise pytest.UsageError("grading needs a notebook: pytest SUITE --notebook PATH")
    return request.config.stash[SESSION]


@pytest.fixture(scope="session")
def load_submission(request: pytest.FixtureRequest) -> Iterator[Callable[..., Submission]]:
    """Start the student's process once and load the notebook into it."""
    session = _session(request)
    yield session.load
    session.close()


@pytest.fixture(scope="session")
def _student_processes(request: pytest.FixtureRequest) -> Iterator[GradingSession]:
    session = _session(request)
    yield session
    session.close()


@pytest.fixture
def student_process(
    request: pytest.FixtureRequest, _student_processes: GradingSession, grade_item: str
) -> Submission:
    """The student process that grades the running check's cell (see the module docstring)."""
    return _student_processes.process_for(grade_item, request.getfixturevalue("assignment"))


@pytest.fixture(scope="session")
def notebook_grade_ids(request: pytest.FixtureRequest) -> list[str]:
    """Grade ids of the notebook's autograded cells."""
    return list(_session(request).grade_ids)


@pytest.fixture(scope="session")
def graded_notebook(request: pytest.FixtureRequest) -> Notebook:
    """The submission as read on the trusted side (its source, never executed here)."""
    return _session(request).notebook


@pytest.fixture
def grade_item(request: pytest.FixtureRequest) -> str:
    """The grade id of the running check."""
    return _session(request).collected[request.node.nodeid]


def support_files(folder: Path) -> dict[str, str]:
    """The assignment's Python helper modules in ``folder`` (name -> text)."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.py"))}


def grade_item_of(item: pytest.Item, grade_ids: list[str]) -> str | None:
    """The grade id among ``grade_ids`` of ``item``'s ``grade_cell`` marker, if any."""
    marker = item.get_closest_marker("grade_cell")
    if marker is None or len(marker.args) != 1 or marker.args[0] not in grade_ids:
        return None
    return str(marker.args[0])


class GradingSession:
    """Grades one notebook during one pytest run (registered as a plugin object).

    Args:
        notebook: The submission.
        support_files: Helper modules the notebook imports (name -> text).
        limits: Limits for the student's process.
        start_channel: Starts the student's process (default: a sandboxed worker of ``workers``).
        workers: Starts the sandboxed workers (default: a pool of the session's own, closed with
            it); its earlier workers are killed first.
        json_path: Where to write the results as JSON (optional).
        budget: The submission's wall-clock budget (see :mod:`gradekit.sandbox.budget`).
    """

    def __init__(
        self,
        *,
        notebook: Notebook,
        support_files: dict[str, str],
        limits: Limits,
        start_channel: Callable[[], Channel] | None = None,
        workers: WorkerPool | None = None,
        json_path: str | None = None,
        budget: Budget = UNLIMITED,
    ):
        self.notebook = notebook
        self.budget = budget
        self.grade_ids = notebook.autograded_ids
        self.support_files = support_files
        self.limits = limits
        self.start_channel: Callable[[tuple[str, ...]], Channel]
        self._own_workers: WorkerPool | None = None
        if start_channel is None:
            if workers is None:
                workers = self._own_workers = WorkerPool()
            pool = workers
            self.start_channel = lambda without: pool.start(limits, without)
            pool.reset()  # nothing of an earlier notebook's processes is left
        else:
            start = start_channel
            self.start_channel = lambda without: start()
        self.json_path = json_path
        self.submissions: list[Submission] = []
        self._plans: dict[str, tuple[ProcessPlan, Submission | None]] = {}
        self.results: dict[str, CheckResult] = {}
        self.collected: dict[str, str] = {}
        self.started = time.monotonic()

    def load(
        self,
        reference: Path | None = None,
        provided: tuple[str, ...] = (),
        libraries: Libraries = NO_LIBRARIES,
    ) -> Submission:
        """One process for the whole notebook, started on first use (``load_submission``)."""
        if not self.submissions:
            package = None
            if reference is not None:
                modules = {p.stem: p.read_text(encoding="utf-8") for p in reference.glob("*.py")}
                package = ReferencePackage(name=reference.name, modules=modules)
            plan = ProcessPlan(cells=tuple(self.grade_ids), provided=provided)
            self._start(plan, package, libraries=libraries)
        return self.submissions[0]

    def process_for(self, grade_id: str, assignment: Assignment) -> Submission:
        """The process that grades ``grade_id`` (its plan's, started on first use)."""
        if not self._plans:
            for plan in plan_processes(self.grade_ids, assignment):
                for cell in plan.cells:
                    self._plans[cell] = (plan, None)
        plan, submission = self._plans[grade_id]
        if submission is None:
            needed = dict.fromkeys(
                name for cell in self.grade_ids for name in assignment.rule(cell).grades
            )
            submission = self._start(
                plan, plan.package(assignment), tuple(needed), libraries=assignment.libraries
            )
            for cell in plan.cells:
                self._plans[cell] = (plan, submission)
        return submission

    def _start(
        self,
        plan: ProcessPlan,
        package: ReferencePackage | None,
        needed: tuple[str, ...] | None = None,
        *,
        libraries: Libraries,
    ) -> Submission:
        submission = Submission(
            notebook=self.notebook,
            start_channel=lambda: self.start_channel(plan.without),
            limits=self.limits,
            support_files=self.support_files,
            reference=package,
            provided=plan.provided,
            without=plan.without,
            needed=needed,
            budget=self.budget,
            libraries=libraries,
        )
        self.submissions.append(submission)
        # A failed start is reported by each check (which restarts it when allowed).
        with contextlib.suppress(StudentTimeout, StudentCrash):
            submission.start()
        return submission

    def close(self) -> None:
        """Stop every student process of the notebook (and the session's own fork servers)."""
        for submission in self.submissions:
            submission.close()
        if self._own_workers is not None:
            self._own_workers.close()

    # -- hooks ----------------------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[SESSION] = self

    def select(self, items: list[pytest.Item]) -> list[pytest.Item]:
        """The checks of this notebook's grade cells, in suite order (and remember their cell)."""
        selected = []
        for item in items:
            grade_id = grade_item_of(item, self.grade_ids)
            if grade_id is not None:
                self.collected[item.nodeid] = grade_id
                selected.append(item)
        return selected

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        selected = self.select(items)
        if len(selected) < len(items):
            chosen = set(map(id, selected))
            config.hook.pytest_deselected(items=[item for item in items if id(item) not in chosen])
        items[:] = selected

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        for submission in self.submissions:
            submission.warnings.clear()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> pytest.TestReport | None:
        """Record the check's result and report it with the kit's message as the failure text.

        pytest's own failure report would render the traceback with source, which costs far more
        than the check itself and is never shown to anyone: the message says what went wrong.
        """
        if item.nodeid not in self.collected:
            return None
        mistake = ""
        if call.excinfo is None:
            outcome, kind, message = "passed", "passed", ""
        elif call.excinfo.errisinstance(pytest.skip.Exception):
            outcome, kind, message = "skipped", "failed", "this check was skipped"
        else:
            kind, message = describe_failure(call)
            outcome = "failed"
            if isinstance(call.excinfo.value, CheckFailed):  # raised by a grader, not the student
                mistake = call.excinfo.value.mistake
        longrepr: Any = None
        if outcome == "failed":
            longrepr = message
        elif outcome == "skipped":
            longrepr = (str(item.path), item.location[1] or 0, message)
        finished = call.when == "call" or outcome != "passed"
        if finished and item.nodeid not in self.results:
            marker = item.get_closest_marker("weight")
            notes = tuple(dict.fromkeys(w for s in self.submissions for w in s.warnings))
            self.results[item.nodeid] = CheckResult(
                item=self.collected[item.nodeid],
                name=item.name.removeprefix("test_"),
                weight=float(marker.args[0]) if marker else 1.0,
                passed=outcome == "passed",
                message=cap(message, MAX_MESSAGE),
                notes=notes,
                kind=kind,
                seconds=round(call.duration, 4),
                mistake=cap(mistake, MAX_MESSAGE),
            )
        return pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            outcome,  # type: ignore[arg-type]
            longrepr,
            call.when,  # type: ignore[arg-type]
            duration=call.duration,
            start=call.start,
            stop=call.stop,
            user_properties=item.user_properties,
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.section(f"grades for {self.notebook.name}")
        for line in self.summary_lines():
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self) -> None:
        if self.json_path:
            data = [
                vars(result) | {"notes": list(result.notes)} for result in self.results.values()
            ]
            Path(self.json_path).write_text(json.dumps(data, indent=1), encoding="utf-8")

    def summary_lines(self) -> list[str]:
        """One line per grade cell: checks passed and weight share."""
        lines = []
        for grade_id in self.grade_ids:
            checks = [r for r in self.results.values() if r.item == grade_id]
            weight = sum(c.weight for c in checks)
            passed = sum(c.weight for c in checks if c.passed)
            share = f"{passed / weight:.0%}" if weight else "no checks"
            passed_count = sum(c.passed for c in checks)
            lines.append(f"{grade_id:<28} {passed_count:>3}/{len(checks):<3} checks  {share}")
        return lines


def describe_failure(call: pytest.CallInfo[None]) -> tuple[str, str]:
    """The kind of failure and a message a student can act on."""
    if call.excinfo is None:
        return "failed", "the check failed"
    error = call.excinfo.value
    for kind_type, kind in _KINDS.items():
        if isinstance(error, kind_type):
            return kind, str(error)
    if isinstance(error, StudentCodeError):
        return "error", str(error)
    if isinstance(error, AssertionError | pytest.fail.Exception):
        text = getattr(error, "msg", None) or str(error)
        return "failed", text.strip() or "the check failed"
    return "failed", f"the check could not use your result ({type(error).__name__}: {error})"
