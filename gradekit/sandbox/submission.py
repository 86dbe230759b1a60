"""A student's notebook loaded into a separate process, and the requests sent to it.

A :class:`Submission` starts a worker (:mod:`gradekit.sandbox.workers`), loads the notebook's
definitions into it (:mod:`gradekit.sandbox.loading`) and sends it requests, each within a deadline
and the submission's time budget. Failures arrive as the exceptions of
:mod:`gradekit.sandbox.problems`. A crashed or timed-out worker is restarted for the next check,
so one infinite loop costs only the checks that hit it; a lost sandbox (never the student's
doing) costs nothing. Graders use it through :class:`gradekit.sandbox.student.Student`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from gradekit.core.disclosure import Disclosure, cap
from gradekit.core.libraries import NO_LIBRARIES, Libraries
from gradekit.core.loading_rule import python_source
from gradekit.core.notebook import Notebook, SourceCell, code_cells, definition_cells
from gradekit.core.plans import ReferencePackage
from gradekit.sandbox import wire
from gradekit.sandbox.budget import UNLIMITED, Budget
from gradekit.sandbox.channels import Channel, SandboxLost, WorkerGone, WorkerTimeout
from gradekit.sandbox.declared import ArrayTypes
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.loading import MAX_LOAD_ERRORS, LoadReport, read_load_report
from gradekit.sandbox.problems import (
    Forbidden,
    LostSandbox,
    NotDefined,
    NotLoaded,
    StudentCodeError,
    StudentCrash,
    StudentProblem,
    StudentTimeout,
)

_NOT_DEFINED = re.compile(r"name '([A-Za-z_]\w*)' is not defined")
#: Times a request is sent again, for free, after the sandbox around the student's process was
#: lost (its fork server died: never the student's doing).
MAX_SANDBOX_LOSSES = 2


class Submission:
    """A student's notebook loaded into a separate process.

    Args:
        notebook: The submission (only its definition statements are sent).
        start_channel: Starts a fresh worker (a sandboxed process, or an in-process worker).
        limits: Timeouts and restart budget.
        support_files: Non-notebook files of the assignment (name -> text), e.g. a helper module.
        reference: Package whose names stand in for earlier items.
        provided: Names of ``reference`` put into the namespace before loading (items of earlier
            notebooks that this notebook relies on).
        without: Packages absent from the student's process: code that imports one of them
            takes a forbidden shortcut.
        needed: The names the checks use (the graded names of the notebook's cells): what the
            loading rule keeps (:func:`gradekit.core.notebook.definition_cells`; ``None``: every
            ``def`` and ``class``).
        budget: The submission's wall-clock budget: no wait on the student's process lasts
            past its end, and after it every request fails at once, saying why.
        libraries: What the course declares of the libraries beyond NumPy its code uses (seed
            functions, array types, the type names and messages its feedback may show).
    """

    def __init__(
        self,
        *,
        notebook: Notebook,
        start_channel: Callable[[], Channel],
        limits: Limits,
        support_files: dict[str, str] | None = None,
        reference: ReferencePackage | None = None,
        provided: Iterable[str] = (),
        without: Iterable[str] = (),
        needed: Iterable[str] | None = None,
        budget: Budget = UNLIMITED,
        libraries: Libraries = NO_LIBRARIES,
    ):
        self.notebook = notebook
        self.libraries = libraries
        self.arrays = ArrayTypes(libraries.array_types)
        self.budget = budget
        self.without = tuple(without)
        self.needed = None if needed is None else tuple(needed)
        self.cells = definition_cells(notebook, self.needed)
        # Names and strings of the whole cells (skipped statements too) are the student's own
        # text, fixed before any hidden input exists; line numbers are those of what is sent.
        written = [(key, python_source(source) or "") for key, source in code_cells(notebook)]
        sent = [(cell.key, cell.source) for cell in self.cells]
        self.disclosure = Disclosure.of([*written, *sent], libraries=libraries)
        self.limits = limits
        self._start_channel = start_channel
        self._support_files = support_files or {}
        self._reference = reference
        self._provided = list(provided)
        self._channel: Channel | None = None
        self.generation = 0
        self.restarts = 0
        #: Sandboxes lost under this submission (after :data:`MAX_SANDBOX_LOSSES` of them its
        #: grading cannot be trusted to be its own: :func:`gradekit.checks.grading.grade_notebook`
        #: fails the notebook instead of charging the student).
        self.sandbox_losses = 0
        self._free_restart = False
        self.elapsed = 0.0
        self._reported = False
        self.load_report = LoadReport()
        self.warnings: list[str] = []
        self.incidents: list[str] = []
        self._timed_out: set[str] = set()
        self._load_timed_out = False
        self._needs: dict[str, list[SourceCell]] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LoadReport:
        """Start the worker and load the definitions (idempotent)."""
        self._ensure_started()
        return self.load_report

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def __enter__(self) -> Submission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_started(self) -> Channel:
        if self._channel is not None:
            return self._channel
        self._check_budget()
        if self._load_timed_out:
            raise StudentTimeout(
                "loading your notebook's definitions did not finish in time earlier, so no "
                "further checks could run"
            )
        if self.generation > 0 and not self._free_restart:
            if self.restarts >= self.limits.max_restarts:
                raise StudentCrash(
                    "grading stopped: your code crashed or timed out too often "
                    f"({self.restarts} restarts); the remaining checks were not run"
                )
            self.restarts += 1
        self._free_restart = False
        self.generation += 1
        channel = self._start_channel()
        self._channel = channel
        loading = False
        try:
            hello = {"op": "hello", "libraries": self.libraries.as_data()}
            self._raw(hello, self.limits.load_timeout, "starting Python")
            if self._reference is not None:
                self._raw(
                    {
                        "op": "install_package",
                        "name": self._reference.name,
                        "modules": self._reference.modules,
                    },
                    self.limits.load_timeout,
                    "installing the reference names",
                )
            cells = self.cells
            loading = True
            loaded = self._raw(
                {
                    "op": "load",
                    "cells": [{"key": cell.key, "source": cell.source} for cell in cells],
                    "support_files": self._support_files,
                    "provide": self._provided,
                    "statement_timeout": self.limits.statement_timeout,
                },
                self.limits.load_timeout,
                "loading your notebook's definitions",
            )
        except StudentTimeout:
            self._load_timed_out = loading  # loading again would time out again
            self.close()
            raise
        except StudentProblem:
            self.close()
            raise
        if not self._reported:  # the first load that finished (a lost sandbox's never did)
            self._reported = True
            self.load_report = read_load_report(
                cells,
                wire.decode(loaded),
                disclosure=self.disclosure,
                statement_timeout=self.limits.statement_timeout,
            )
        return channel

    def needs(self, name: str) -> list[SourceCell]:
        """The notebook's cells as the loading rule keeps them for ``name`` alone (what it
        needs is marked), computed once per name."""
        if name not in self._needs:
            self._needs[name] = definition_cells(self.notebook, (name,))
        return self._needs[name]

    # -- requests -------------------------------------------------------------------------------

    def _raw(self, message: dict[str, Any], timeout: float, label: str) -> Any:
        """Send a request to the current worker; map failures to student-facing exceptions."""
        channel = self._channel
        assert channel is not None
        self._check_budget()
        cut = self.budget.binds(timeout)
        started = time.monotonic()
        try:
            response = channel.request(message, self.budget.clamp(timeout))
        except WorkerTimeout as error:
            self._channel = None
            if cut:
                raise self._over_budget(label) from error
            self.incidents.append(f"timeout: {label}")
            raise StudentTimeout(
                f"{label} did not finish within {timeout:g} s (an infinite loop, or far too slow)"
            ) from error
        except SandboxLost as error:
            self._channel = None
            self.sandbox_losses += 1
            self._free_restart = True
            raise LostSandbox(f"{label}: {error} (not your code's doing)") from error
        except WorkerGone as error:
            self._channel = None
            self.incidents.append(f"crash: {label}: {error}")
            raise StudentCrash(f"{label} stopped the grading process: {error}") from error
        finally:
            self.elapsed += time.monotonic() - started
        for warning in response.get("warnings", [])[:MAX_LOAD_ERRORS]:
            if isinstance(warning, dict):
                text = self.disclosure.warning(
                    warning.get("category"), warning.get("message"), warning.get("where")
                )
                self.warnings.append(cap(f"{label}: {text}"))
        if "error" in response:
            reported = response["error"]
            raise self._student_error(label, reported if isinstance(reported, dict) else {})
        return response.get("value")

    def _check_budget(self) -> None:
        if self.budget.exceeded:
            raise self._over_budget(None)

    def _over_budget(self, label: str | None) -> StudentTimeout:
        """The failure of every request once the submission's budget is used up (the first
        one is also an incident, for the summary)."""
        reason = self.budget.reason()
        if not any(incident.startswith("budget: ") for incident in self.incidents):
            self.incidents.append(f"budget: {reason}")
        during = f" while {label} ran" if label else ""
        return StudentTimeout(f"grading stopped: {reason}{during}; this check was not run")

    def _student_error(self, label: str, error: dict[str, Any]) -> StudentProblem:
        """The student-facing exception for an error the student's process reported; only
        what :class:`gradekit.core.disclosure.Disclosure` allows reaches its text."""
        raw_kind, raw_message = error.get("type"), error.get("message")
        kind = self.disclosure.kind(raw_kind)
        where = self.disclosure.where(error.get("where"))
        message = self.disclosure.message(kind, raw_message) if kind == raw_kind else ""
        if kind == "NotImplementedError":
            return StudentCodeError(
                f"{label} is not implemented yet (it raises NotImplementedError)"
            )
        if raw_kind == "NameError" and raw_message == f"name '{label}' is not defined":
            if self.load_report.binders(label):
                return NotLoaded(cap(self.load_report.why_missing(label)))
            return NotDefined(self.load_report.why_missing(label))  # the name the grader asked
        if kind == "ModuleNotFoundError" and (absent := self._absent_package(str(raw_message))):
            self.incidents.append(f"forbidden: {label}: imports {absent}")
            return Forbidden(
                f"{label} imports {absent}, which this item may not use (it is not even "
                f"installed where it is graded): write it with NumPy"
            )
        located = f" at {where}" if where else ""
        text = (
            f"{label} raised {kind}{located}: {message}"
            if message
            else f"{label} raised {kind}{located}"
        )
        if kind == "SystemExit":
            text = f"{label} called sys.exit()/exit(){located}"
        behind = self._load_problem(label, kind, message)
        if behind:
            return NotLoaded(cap(f"{text}. {behind[0].upper()}{behind[1:]}"))
        return StudentCodeError(cap(text))

    def _load_problem(self, label: str, kind: str, message: str) -> str:
        """Why an error of ``label`` may come from loading: the statements that set a name it
        says is not defined, or the failed statements the graded name needs."""
        if kind == "NameError" and (match := _NOT_DEFINED.fullmatch(message)):
            binders = self.load_report.binders(match.group(1))
            if binders:
                return binders
        if not any(cell.failed for cell in self.load_report.cells):
            return ""
        root = label.split(".")[0]
        return self.load_report.failures_behind(self.needs(root), root)

    def _absent_package(self, message: str) -> str | None:
        """The absent package a ``ModuleNotFoundError`` message names, if any."""
        quoted = message.split("'")
        if len(quoted) >= 3 and quoted[1].split(".")[0] in self.without:
            return quoted[1].split(".")[0]
        return None

    def request(self, message: dict[str, Any], label: str, timeout: float | None = None) -> Any:
        """Send ``message`` to the worker (starting or restarting it as needed); decoded answer."""
        if label in self._timed_out:
            raise StudentTimeout(
                f"{label} was not run again: it did not finish in time in an earlier check"
            )
        self._check_budget()
        if self.elapsed > self.limits.notebook_budget:
            raise StudentTimeout(
                "grading stopped: your code used more than "
                f"{self.limits.notebook_budget:g} s in total"
            )
        while True:
            try:
                self._ensure_started()
                value = self._raw(message, timeout or self.limits.call_timeout, label)
            except StudentTimeout:
                self._timed_out.add(label)
                raise
            except LostSandbox:
                if self.sandbox_losses > MAX_SANDBOX_LOSSES:
                    raise
                continue  # the same request in a fresh sandbox, free of charge
            return wire.decode(value, arrays=self.arrays)
