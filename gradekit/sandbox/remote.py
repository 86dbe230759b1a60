"""The trusted side's handle on a student's submission.

A :class:`Submission` starts a worker (:mod:`gradekit.sandbox.processes`), loads the notebook's
definitions into it and lets graders call the student's code::

    student = Student(submission, substitute=["relu"])  # reference relu inside these calls
    student.call("relu", x)                            # -> numpy array (plain data)
    model = student.new("Model", [2, 3, 1])            # -> RemoteObject (stays in the worker)
    model.call("forward", X); model.get("weights"); model.set("weights", [...])

Everything returned is plain data decoded on this side; the comparisons are the graders' job.
Failures of the student's code arrive as exceptions that say what happened in words a student
understands (:class:`StudentCodeError`, :class:`NotDefined`, :class:`StudentTimeout`,
:class:`StudentCrash`). A crashed or timed-out worker is restarted for the next check, so one
infinite loop costs only the checks that hit it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gradekit.core.disclosure import Disclosure, cap
from gradekit.core.libraries import NO_LIBRARIES, Libraries
from gradekit.core.loading_rule import python_source
from gradekit.core.notebook import Notebook, SourceCell, code_cells, definition_cells
from gradekit.core.plans import ReferencePackage
from gradekit.sandbox import wire
from gradekit.sandbox.budget import UNLIMITED, Budget
from gradekit.sandbox.declared import ArrayTypes
from gradekit.sandbox.processes import Channel, Limits, SandboxLost, WorkerGone, WorkerTimeout

#: Errors of loading, and warnings of one call, kept at most.
MAX_LOAD_ERRORS = 20
_NOT_DEFINED = re.compile(r"name '([A-Za-z_]\w*)' is not defined")
#: Times a request is sent again, for free, after the sandbox around the student's process was
#: lost (its fork server died: never the student's doing).
MAX_SANDBOX_LOSSES = 2


class StudentProblem(Exception):
    """Base class: the student's code could not give an answer for a check."""


class StudentCodeError(StudentProblem):
    """The student's code raised an exception."""


class NotDefined(StudentProblem):
    """A name the check needs is not defined by the notebook."""


class StudentTimeout(StudentProblem):
    """The student's code did not finish in time."""


class StudentCrash(StudentProblem):
    """The student's process died (exit, crash, memory limit)."""


class LostSandbox(StudentProblem):
    """The sandbox around the student's process was lost (not the student's doing): the
    request is sent again in a fresh one, and no restart is charged."""


class Forbidden(StudentProblem):
    """The submission takes a forbidden shortcut: its grade cell gets no credit at all."""


class NotLoaded(StudentProblem):
    """A name the check needs is missing or broken because a statement of the notebook was
    skipped, failed or ran too long when the definitions were loaded."""


@dataclass(frozen=True)
class CellLoad:
    """What loading one cell's definitions did.

    Attributes:
        key: The cell's readable name.
        defined: Names it defined.
        errors: Its problems, one line each.
        failed: First line of each kept statement that raised or ran too long -> what happened.
    """

    key: str
    defined: tuple[str, ...]
    errors: tuple[str, ...]
    failed: dict[int, str] = field(default_factory=dict)


@dataclass
class LoadReport:
    """The outcome of loading a notebook's definitions.

    Attributes:
        cells: What loading each cell did.
        sources: What the loading rule kept and skipped of each cell (by key).
    """

    cells: list[CellLoad] = field(default_factory=list)
    sources: dict[str, SourceCell] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """One line per cell that did not load cleanly."""
        return [f"{cell.key}: {error}" for cell in self.cells for error in cell.errors]

    def why_missing(self, name: str) -> str:
        """A sentence explaining why ``name`` is not defined."""
        binders = self.binders(name)
        if binders:
            return f"'{name}' is not defined: {binders}"
        problems = self.problems
        if problems:
            shown = "; ".join(problems[:2])
            return f"'{name}' is not defined: loading your notebook failed in {shown}"
        return f"'{name}' is not defined in your notebook (was it renamed or deleted?)"

    def binders(self, name: str) -> str:
        """Why the statements that set ``name`` did not set it: those that failed or ran too
        long, and those the loading rule skipped (empty if none did)."""
        failed = {cell.key: cell.failed for cell in self.cells}
        found = []
        for key, source in self.sources.items():
            for line, names in source.kept.items():
                if name in names and line in failed.get(key, {}):
                    found.append(
                        f"line {line} of {key}, which sets {name}, {failed[key][line]} when "
                        "your definitions were loaded for grading"
                    )
            for skipped in source.skipped:
                if name in skipped.names:
                    found.append(
                        f"line {skipped.line} of {key}, which sets {name}, is not run when your "
                        "definitions are loaded for grading (only imports, def, class and what "
                        f"graded code names run there; {name} is only looked up indirectly, "
                        "e.g. with globals() or eval)"
                    )
        return "; ".join(found[:2])

    def failures_behind(self, plans: list[SourceCell], label: str) -> str:
        """The statements that failed or ran too long among those ``plans`` marks as needed."""
        failed = {cell.key: cell.failed for cell in self.cells}
        found = [
            f"line {line} of {plan.key}, which {label} needs, {failed[plan.key][line]} when your "
            "definitions were loaded for grading"
            for plan in plans
            for line in sorted(plan.needed)
            if line in failed.get(plan.key, {})
        ]
        return "; ".join(found[:2])


@dataclass
class CallResult:
    """A call's result and, on request, the arguments as they were after the call."""

    value: Any
    args_after: tuple[list[Any], dict[str, Any]] | None = None


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
            self.load_report = self._load_report(cells, wire.decode(loaded))
        return channel

    def _load_report(self, cells: list[SourceCell], loaded: Any) -> LoadReport:
        """What loading did, cell by cell, in words the disclosure rules allow (at load time
        no hidden input exists yet, but the reference modules do)."""
        parse_errors = {cell.key: cell.syntax_error for cell in cells if cell.syntax_error}
        sent = {cell.key: cell for cell in cells}
        report = LoadReport(sources=sent)
        for item in loaded if isinstance(loaded, list) else []:
            key = item.get("key") if isinstance(item, dict) else None
            if not isinstance(key, str) or key not in sent:
                continue
            errors = [f"SyntaxError: {parse_errors[key]}"] if key in parse_errors else []
            failed: dict[int, str] = {}
            for error in item.get("errors", [])[:MAX_LOAD_ERRORS]:
                errors.append(self._described(error, key))
                line = error.get("line") if isinstance(error, dict) else None
                if isinstance(line, int) and line in sent[key].kept and line not in failed:
                    failed[line] = self._failure(error)
            defined = [name for name in item.get("defined", []) if isinstance(name, str)]
            report.cells.append(CellLoad(key, tuple(defined), tuple(errors), failed))
        return report

    def _failure(self, error: dict[str, Any]) -> str:
        """What happened to a kept statement while the definitions loaded, as a phrase."""
        if error.get("type") == "StatementTimeout":
            limit = self.limits.statement_timeout
            return f"ran longer than the {limit:g} s a statement may take"
        kind = self.disclosure.kind(error.get("type"))
        raw = error.get("message")
        message = self.disclosure.message(kind, raw) if kind == error.get("type") else ""
        return f"raised {kind}: {message}" if message else f"raised {kind}"

    def needs(self, name: str) -> list[SourceCell]:
        """The notebook's cells as the loading rule keeps them for ``name`` alone (what it
        needs is marked), computed once per name."""
        if name not in self._needs:
            self._needs[name] = definition_cells(self.notebook, (name,))
        return self._needs[name]

    def _described(self, error: Any, key: str) -> str:
        """``Type: message (line N)`` of an error while cell ``key`` loaded."""
        error = error if isinstance(error, dict) else {}
        raw_kind = error.get("type")
        kind = self.disclosure.kind(raw_kind)
        message = self.disclosure.message(kind, error.get("message")) if kind == raw_kind else ""
        where = self.disclosure.where(error.get("where"))
        line = f" (line {where.split()[1]})" if where.endswith(f"of {key}") else ""
        return cap(f"{kind}: {message}{line}" if message else f"{kind}{line}")

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

    def invoke(
        self,
        name: str,
        args: Iterable[Any] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        ref: RemoteObject | None = None,
        seed: int | None = None,
        return_args: bool = False,
        substitute: Iterable[str] = (),
        timeout: float | None = None,
    ) -> CallResult:
        """Call a global of the notebook (or a method of ``ref``).

        Args:
            name: Function/class name, or method name when ``ref`` is given.
            args: Positional arguments (plain data or :class:`RemoteObject`).
            kwargs: Keyword arguments.
            ref: The object whose method to call.
            seed: Seed ``random``, NumPy and the course's seed functions
                (:attr:`gradekit.core.libraries.Libraries.seed_functions`) in the worker right
                before the call.
            return_args: Also return the arguments as they are after the call (mutation checks).
            substitute: Names replaced by their reference versions during the call.
            timeout: Seconds allowed (default: ``Limits.call_timeout``).

        Returns:
            The result as plain data; objects come back as handles (``RemoteRef``).

        Raises:
            Forbidden: The call imported a package absent from the student's process.
        """
        if ref is not None:
            target: dict[str, Any] = {"ref": ref.handle_in(self), "attr": name}
            label = f"{ref.type_name}.{name}"
        else:
            target = {"name": name}
            label = name
        message = {
            "op": "call",
            "target": target,
            "args": wire.encode([_plain(arg, self) for arg in args], arrays=self.arrays),
            "kwargs": wire.encode(
                {key: _plain(value, self) for key, value in (kwargs or {}).items()},
                arrays=self.arrays,
            ),
            "seed": seed,
            "return_args": return_args,
            "substitute": list(substitute),
        }
        answer = self.request(message, label, timeout)
        args_after = None
        if return_args:
            positional, keywords = answer["args"]
            args_after = (list(positional), dict(keywords))
        return CallResult(answer["result"], args_after)


class Student:
    """What a grader sees of a submission: call, construct, read — with some names replaced.

    Args:
        submission: The loaded submission.
        substitute: Names replaced by their reference versions in every call, so that a bug in an
            earlier item does not cost points again here.
    """

    def __init__(self, submission: Submission, substitute: Iterable[str] = ()):
        self.submission = submission
        self.substitute = tuple(substitute)

    def invoke(
        self,
        name: str,
        args: Iterable[Any] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> CallResult:
        """:meth:`Submission.invoke` with this view's substitutions; objects wrapped."""
        options.setdefault("substitute", self.substitute)
        result = self.submission.invoke(name, args, kwargs, **options)
        return CallResult(self.wrap(result.value), result.args_after)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a function (or class) defined by the notebook; its result as plain data."""
        return self.invoke(name, args, kwargs).value

    def new(self, name: str, *args: Any, **kwargs: Any) -> RemoteObject:
        """Construct an object of a class defined by the notebook."""
        value = self.call(name, *args, **kwargs)
        if not isinstance(value, RemoteObject):
            raise StudentCodeError(
                f"{name}(...) did not create an object (got {type(value).__name__})"
            )
        return value

    def get(self, name: str) -> Any:
        """The value of a global of the notebook."""
        return self.wrap(self.submission.request({"op": "get", "target": {"name": name}}, name))

    def has(self, name: str) -> bool:
        """Whether the notebook defines ``name``."""
        return bool(self.submission.request({"op": "has", "name": name}, f"looking up {name}"))

    def evaluate(self, expression: str, label: str, **objects: RemoteObject) -> Any:
        """Evaluate a grader-written expression in the student's process (to inspect objects)."""
        refs = {key: obj.handle_in(self.submission) for key, obj in objects.items()}
        message = {
            "op": "eval",
            "expr": expression,
            "refs": refs,
            "substitute": list(self.substitute),
        }
        return self.wrap(self.submission.request(message, label))

    def wrap(self, value: Any) -> Any:
        """Turn handles inside ``value`` into :class:`RemoteObject` s bound to this view, and
        keep only the type names the disclosure rules allow."""
        disclosure = self.submission.disclosure
        if isinstance(value, wire.RemoteRef):
            ref = wire.RemoteRef(value.handle, disclosure.name(value.type_name))
            return RemoteObject(self, ref, self.submission.generation)
        if isinstance(value, wire.Opaque):
            return wire.Opaque(disclosure.name(value.type_name.split(".")[-1]), "")
        if isinstance(value, list):
            return [self.wrap(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.wrap(item) for item in value)
        if isinstance(value, dict):
            return {key: self.wrap(item) for key, item in value.items()}
        return value


class RemoteObject:
    """An object that lives in the student's process."""

    def __init__(self, student: Student, ref: wire.RemoteRef, generation: int):
        self.student = student
        self.ref = ref
        self.generation = generation

    @property
    def type_name(self) -> str:
        return self.ref.type_name

    def handle_in(self, submission: Submission) -> int:
        """The handle id, if the process that holds the object is still the current one."""
        if submission.generation != self.generation:
            raise StudentCrash(
                f"a {self.type_name} object was lost when the grading process restarted"
            )
        return self.ref.handle

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a method; its result as plain data."""
        return self.student.invoke(method, args, kwargs, ref=self).value

    def invoke(
        self,
        method: str,
        args: Iterable[Any] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> CallResult:
        """Call a method with the options of :meth:`Submission.invoke`."""
        return self.student.invoke(method, args, kwargs, ref=self, **options)

    def get(self, attribute: str) -> Any:
        """An attribute's value (plain data, or another :class:`RemoteObject`)."""
        submission = self.student.submission
        message = {"op": "get", "target": {"ref": self.handle_in(submission), "attr": attribute}}
        return self.student.wrap(submission.request(message, f"{self.type_name}.{attribute}"))

    def set(self, attribute: str, value: Any) -> None:
        """Set an attribute to plain data."""
        submission = self.student.submission
        message = {
            "op": "set",
            "ref": self.handle_in(submission),
            "attr": attribute,
            "value": wire.encode(_plain(value, submission), arrays=submission.arrays),
        }
        submission.request(message, f"setting {self.type_name}.{attribute}")

    def __repr__(self) -> str:
        return f"<student {self.type_name} object>"


def _plain(value: Any, submission: Submission) -> Any:
    if isinstance(value, RemoteObject):
        return wire.RemoteRef(value.handle_in(submission), value.type_name)
    return value
