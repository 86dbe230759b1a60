"""A pytest plugin that fails a run whose process imported a forbidden module, or that was slow.

The engine's unit tests (``tests/unit``) must never import torch, scikit-learn or the MLP course
(its graders, its reference, its further assignments) and must run in under a minute; ``make
test`` and ``make test-unit`` run them with this plugin (``tests/integration/test_unit_suite.py``
checks that it fails a run that imports such a module)::

    python -m pytest tests/unit -p tests.import_guard

After every test it notes which forbidden top-level modules the process holds; at the end it
names each with the first test (or collection) after which it was there, and makes the run fail
(under pytest-xdist, each worker tells the main process what it found). With
``GRADEKIT_IMPORT_GUARD_REPORT`` set to a folder, every process of the run (the main one and each
worker) also writes what it found there, as ``<worker or main>.json``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: Top-level modules the engine's unit tests must not import.
FORBIDDEN = ("torch", "sklearn", "grader_tests", "reference_impl", "assignments")
#: Seconds the whole unit run may take.
MAX_SECONDS = 60.0
REPORT_ENV = "GRADEKIT_IMPORT_GUARD_REPORT"


@dataclass
class _Guard:
    started: float
    first_seen: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def note(self, where: str) -> None:
        for name in loaded_forbidden():
            self.first_seen.setdefault(name, where)

    def problems(self) -> list[str]:
        found = [f"{name} imported ({where})" for name, where in sorted(self.first_seen.items())]
        if self.seconds >= MAX_SECONDS:
            found.append(f"the run took {self.seconds:.1f} s (limit {MAX_SECONDS:.0f} s)")
        return found


_KEY = pytest.StashKey[_Guard]()
_OUTPUT = "import_guard"


def loaded_forbidden() -> list[str]:
    """The forbidden top-level modules this process holds now."""
    return sorted({name.partition(".")[0] for name in list(sys.modules)} & set(FORBIDDEN))


def pytest_configure(config: pytest.Config) -> None:
    guard = _Guard(started=time.monotonic())
    guard.note("before the tests were collected")
    config.stash[_KEY] = guard


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_KEY].note("while the tests were collected")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        item.config.stash[_KEY].note(f"by {item.nodeid}")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """(pytest-xdist, in the main process) What a worker found counts for the whole run."""
    found = getattr(node, "workeroutput", {}).get(_OUTPUT)
    if found:
        worker = getattr(node, "workerinput", {}).get("workerid", "a worker")
        for name, where in json.loads(found).items():
            node.config.stash[_KEY].first_seen.setdefault(name, f"{where}, in {worker}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    guard = session.config.stash[_KEY]
    guard.note("at the end of the run")
    guard.seconds = time.monotonic() - guard.started
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: its main process reports
        workeroutput[_OUTPUT] = json.dumps(guard.first_seen)
    if guard.problems() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    folder = os.environ.get(REPORT_ENV)
    if folder:
        name = os.environ.get("PYTEST_XDIST_WORKER", "main")
        Path(folder, f"{name}.json").write_text(
            json.dumps({"first_seen": guard.first_seen, "seconds": guard.seconds}),
            encoding="utf-8",
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    guard = terminalreporter.config.stash[_KEY]
    for problem in guard.problems():
        terminalreporter.write_line(f"import guard: {problem}", red=True)
