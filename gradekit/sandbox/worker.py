"""The process that holds a student's definitions and runs them on request.

This module runs in the *student's* process (inside the sandbox). It executes the definition
statements of a notebook, then answers requests from the trusted grader: call a function or
method, read or set an attribute, evaluate an expression. It returns plain data only
(:mod:`gradekit.sandbox.wire`) and never judges anything: every comparison happens in the trusted
process.

Protocol: one JSON request per line on the original stdin, one JSON response per line on the
original stdout. The student's code sees ``/dev/null`` as stdin/stdout/stderr, so printing cannot
corrupt the protocol (and costs nothing).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import os
import shutil
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from gradekit.core.libraries import ArrayType
from gradekit.sandbox import declared, wire

_MISSING = object()
#: Longest exception or warning message sent back (the trusted side decides what to show).
MESSAGE_LIMIT = 800
#: At most this many distinct warnings are reported per request.
WARNING_LIMIT = 5


class Worker:
    """Executes a student's definitions and serves requests against them.

    Args:
        namespace: The globals the student's cells run in (a fresh dict in a sandbox; the live
            kernel namespace when an instructor grades a cell inside Jupyter).
        workdir: Folder for support modules and the reference package.
        time_limits: Limit each statement's time while definitions load (uses SIGALRM: only in
            a process of its own, never in an instructor's kernel).
    """

    def __init__(
        self,
        namespace: dict[str, Any] | None = None,
        workdir: Path | None = None,
        time_limits: bool = False,
    ):
        self.namespace: dict[str, Any] = (
            namespace
            if namespace is not None
            else {"__name__": "__main__", "__builtins__": builtins}
        )
        self.workdir = workdir or Path.cwd()
        self.handles: dict[int, Any] = {}
        self._ids: dict[int, int] = {}
        self.reference: Any = None
        self.time_limits = time_limits
        #: What the course declared of its libraries (:class:`gradekit.core.libraries.Libraries`,
        #: sent with ``hello``): array types that travel as arrays, functions that seed.
        self.arrays = declared.NO_ARRAY_TYPES
        self.seed_functions: tuple[str, ...] = ()

    # -- request dispatch -------------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request; never raises (errors come back as data)."""
        op = request.get("op")
        method = getattr(self, f"op_{op}", None)
        response: dict[str, Any] = {"id": request.get("id")}
        caught: list[warnings.WarningMessage] = []
        try:
            if method is None:
                raise ValueError(f"unknown operation {op!r}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                response["value"] = self.encode(method(request))
        except BaseException as error:  # student code may raise anything, SystemExit included
            response["error"] = self._describe_error(error)
        if caught:
            response["warnings"] = self._describe_warnings(caught)
        return response

    def encode(self, value: Any) -> Any:
        """Plain data for ``value``; objects that are not plain data stay here as handles."""
        return wire.encode(value, keep=self._keep, arrays=self.arrays)

    def decode(self, data: Any) -> Any:
        return wire.decode(data, resolve=self._resolve, arrays=self.arrays)

    # -- operations ---------------------------------------------------------------------------

    def op_hello(self, request: dict[str, Any]) -> Any:
        """Say who we are; take the course's declarations of its libraries, if sent."""
        libraries = request.get("libraries") or {}
        self.arrays = declared.ArrayTypes(
            ArrayType.from_data(kind) for kind in libraries.get("array_types", [])
        )
        self.seed_functions = tuple(libraries.get("seed_functions", []))
        return {"pid": os.getpid(), "python": sys.version.split()[0]}

    def op_install_package(self, request: dict[str, Any]) -> Any:
        """Write a package's modules (sent as text) to the work folder and import it."""
        root = self.workdir / "_kit_packages"
        package = root / request["name"]
        package.mkdir(parents=True, exist_ok=True)
        for module, source in request["modules"].items():
            (package / f"{module}.py").write_text(source, encoding="utf-8")
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        self.reference = __import__(request["name"])
        shutil.rmtree(package, ignore_errors=True)  # imported: the files are of no more use
        return True

    def op_load(self, request: dict[str, Any]) -> Any:
        """Write support files, provide reference names, then run each cell's definitions."""
        for filename, text in request.get("support_files", {}).items():
            (self.workdir / Path(filename).name).write_text(text, encoding="utf-8")
        if str(self.workdir) not in sys.path:
            sys.path.insert(0, str(self.workdir))
        for name in request.get("provide", []):
            # An instructor's live kernel keeps its own definitions; a fresh sandbox gets ours.
            self.namespace.setdefault(name, getattr(self.reference, name))
        limit = float(request.get("statement_timeout") or 0) if self.time_limits else 0.0
        return [self._run_cell(cell["key"], cell["source"], limit) for cell in request["cells"]]

    def op_call(self, request: dict[str, Any]) -> Any:
        function = self._target(request["target"])
        args = self.decode(request.get("args", []))
        kwargs = self.decode(request.get("kwargs", {}))
        if request.get("seed") is not None:
            declared.seed(int(request["seed"]), self.seed_functions)
        with self._substituted(request.get("substitute", [])):
            result = function(*args, **kwargs)
        answer = {"result": result}
        if request.get("return_args"):
            answer["args"] = [args, kwargs]
        return answer

    def op_get(self, request: dict[str, Any]) -> Any:
        return self._target(request["target"])

    def op_set(self, request: dict[str, Any]) -> Any:
        owner = self._resolve_ref(request["ref"])
        setattr(owner, request["attr"], self.decode(request["value"]))
        return None

    def op_has(self, request: dict[str, Any]) -> Any:
        return request["name"] in self.namespace

    def op_eval(self, request: dict[str, Any]) -> Any:
        # The scope is taken inside the substitution, so that the expression's own names (not
        # only those of the functions it calls) are the reference versions, as in a call.
        with self._substituted(request.get("substitute", [])):
            scope = dict(self.namespace)
            scope.update(
                {name: self._resolve_ref(ref) for name, ref in request.get("refs", {}).items()}
            )
            return eval(request["expr"], scope)

    # -- helpers ------------------------------------------------------------------------------

    def _run_cell(self, key: str, source: str, limit: float = 0) -> dict[str, Any]:
        """Run a cell's definitions one statement at a time; each may take ``limit`` seconds
        (0: no limit), so that one slow statement costs only what it defines."""
        before = set(self.namespace)
        errors: list[dict[str, Any]] = []
        try:
            statements = ast.parse(source, filename=f"<{key}>").body
        except SyntaxError as error:
            statements = []
            errors.append({"type": "SyntaxError", "message": str(error.msg), "where": ""})
        for statement in statements:
            code = compile(ast.Module(body=[statement], type_ignores=[]), f"<{key}>", "exec")
            try:
                with _time_limit(limit):
                    exec(code, self.namespace)
            except BaseException as error:
                errors.append(self._describe_error(error) | {"line": statement.lineno})
        defined = sorted(name for name in self.namespace if name not in before)
        return {"key": key, "errors": errors, "defined": defined}

    def _target(self, target: dict[str, Any]) -> Any:
        if "ref" in target:
            owner = self._resolve_ref(target["ref"])
            return getattr(owner, target["attr"]) if target.get("attr") else owner
        name = target["name"]
        if name not in self.namespace:
            raise NameError(f"name '{name}' is not defined")
        value = self.namespace[name]
        return getattr(value, target["attr"]) if target.get("attr") else value

    def _substituted(self, names: list[str]) -> _Substitution:
        return _Substitution(
            self.namespace, {name: getattr(self.reference, name) for name in names}
        )

    def _keep(self, value: Any) -> wire.RemoteRef:
        handle = self._ids.get(id(value))
        if handle is None or self.handles.get(handle) is not value:
            handle = len(self.handles) + 1
            self.handles[handle] = value
            self._ids[id(value)] = handle
        return wire.RemoteRef(handle, type(value).__name__)

    def _resolve(self, ref: wire.RemoteRef) -> Any:
        return self._resolve_ref(ref.handle)

    def _resolve_ref(self, handle: int) -> Any:
        if handle not in self.handles:
            raise KeyError(f"unknown object handle {handle}")
        return self.handles[handle]

    @staticmethod
    def _describe_error(error: BaseException) -> dict[str, str]:
        where = ""
        function = ""
        for frame in traceback.extract_tb(error.__traceback__):
            if frame.filename.startswith("<cell"):
                where = f"line {frame.lineno} of {frame.filename.strip('<>')}"
                function = frame.name
        if isinstance(error, SyntaxError) and not where:
            where = f"line {error.lineno}"
        try:
            message = str(error)[:MESSAGE_LIMIT]
        except BaseException:
            message = "<message unavailable>"
        return {
            "type": type(error).__name__,
            "message": message,
            "where": where,
            "function": function,
        }

    @staticmethod
    def _describe_warnings(caught: list[warnings.WarningMessage]) -> list[dict[str, str]]:
        seen: list[dict[str, str]] = []
        for item in caught:
            where = ""
            if str(item.filename).startswith("<cell"):
                where = f"line {item.lineno} of {str(item.filename).strip('<>')}"
            described = {
                "category": item.category.__name__,
                "message": str(item.message)[:MESSAGE_LIMIT],
                "where": where,
            }
            if described not in seen:
                seen.append(described)
            if len(seen) >= WARNING_LIMIT:
                break
        return seen


class StatementTimeout(Exception):
    """A statement of the notebook's definitions took too long while they were loaded."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`StatementTimeout` in the block after ``seconds`` (main thread only)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise StatementTimeout(f"it took longer than {seconds:g} s while your definitions loaded")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Substitution:
    """Temporarily replaces names in the student's globals with reference versions."""

    def __init__(self, namespace: dict[str, Any], replacements: dict[str, Any]):
        self.namespace = namespace
        self.replacements = replacements
        self.saved: dict[str, Any] = {}

    def __enter__(self) -> None:
        for name, value in self.replacements.items():
            self.saved[name] = self.namespace.get(name, _MISSING)
            self.namespace[name] = value

    def __exit__(self, *exc: object) -> None:
        for name, value in self.saved.items():
            if value is _MISSING:
                self.namespace.pop(name, None)
            else:
                self.namespace[name] = value


def _wire_error(error: Exception) -> dict[str, str]:
    return {"type": "WireError", "message": str(error), "where": ""}


def serve(requests: BinaryIO, responses: BinaryIO, worker: Worker) -> None:
    """Answer requests line by line until the input closes."""
    for line in requests:
        try:
            request = wire.loads(line)
        except wire.WireError as error:
            response: dict[str, Any] = {
                "id": None,
                "error": {"type": "WireError", "message": str(error)},
            }
        else:
            response = worker.handle(request)
        try:
            payload = wire.dumps(response)
        except (TypeError, ValueError) as error:
            payload = wire.dumps({"id": response.get("id"), "error": _wire_error(error)})
        responses.write(payload)
        responses.flush()


def main() -> None:
    """Entry point of the sandboxed process: keep the protocol pipes, silence the rest."""
    requests = os.fdopen(os.dup(0), "rb")
    responses = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    serve(requests, responses, Worker(workdir=Path.cwd(), time_limits=True))


if __name__ == "__main__":
    main()
