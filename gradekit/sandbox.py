"""Starting the process that runs a student's code, with limits, and talking to it.

:class:`Limits` are the knobs an instructor sets in ``nbgrader_config.py`` (``GradeKit.*``).
:func:`start_worker` starts ``python -m gradekit.worker`` in a throw-away folder with a memory
limit, no stdin/stdout of its own and its own process group, so a timeout kills everything the
student's code started. :class:`Channel` is the request/response pipe with a deadline per request.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gradekit import wire


@dataclass(frozen=True)
class Limits:
    """Resource limits for the processes that run student code.

    Attributes:
        call_timeout: Seconds one request (a call into student code) may take.
        load_timeout: Seconds for starting the process and loading the notebook's definitions.
        notebook_budget: Seconds of student code per notebook in total; later checks fail fast.
        memory_mb: Address-space limit of the student's process, in MiB.
        max_response_mb: Largest answer accepted from the student's process, in MiB.
        max_restarts: How often a crashed or timed-out process is restarted for later checks.
    """

    call_timeout: float = 30.0
    load_timeout: float = 90.0
    notebook_budget: float = 300.0
    memory_mb: int = 3072
    max_response_mb: int = 64
    max_restarts: int = 4


class WorkerGone(RuntimeError):
    """The student's process ended (crash, ``os._exit``, killed by a limit)."""


class WorkerTimeout(RuntimeError):
    """The student's process did not answer within the deadline; it has been killed."""


class Channel(Protocol):
    """Anything that answers protocol requests (a sandboxed process or an in-process worker)."""

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]: ...

    def close(self) -> None: ...


class ProcessChannel:
    """A worker process and its protocol pipes.

    Args:
        process: The started worker.
        workdir: Its throw-away working folder (deleted on :meth:`close`).
        max_response_bytes: Largest response line accepted.
    """

    def __init__(self, process: subprocess.Popen[bytes], workdir: Path, max_response_bytes: int):
        self.process = process
        self.workdir = workdir
        self.max_response_bytes = max_response_bytes
        self._buffer = b""
        self._next_id = 0

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait at most ``timeout`` seconds for its response.

        Raises:
            WorkerTimeout: No answer in time (the process group is killed).
            WorkerGone: The process ended or answered something unreadable.
        """
        if self.process.poll() is not None:
            raise WorkerGone(self._exit_description())
        self._next_id += 1
        message = {**message, "id": self._next_id}
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(wire.dumps(message))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            self.close()
            raise WorkerGone(self._exit_description()) from error
        deadline = time.monotonic() + timeout
        while True:
            line = self._read_line(deadline)
            try:
                response = wire.loads(line)
            except wire.WireError as error:
                self.close()
                raise WorkerGone(f"the process answered something unreadable ({error})") from error
            if response.get("id") == self._next_id:
                return response
            # A stray line (e.g. written by student code to our pipe) is skipped, not trusted.

    def _read_line(self, deadline: float) -> bytes:
        assert self.process.stdout is not None
        stream = self.process.stdout
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    self.close()
                    raise WorkerTimeout("no answer before the deadline")
                chunk = os.read(stream.fileno(), 1 << 20)
                if not chunk:
                    self.process.wait(timeout=5)
                    raise WorkerGone(self._exit_description())
                self._buffer += chunk
                if len(self._buffer) > self.max_response_bytes:
                    self.close()
                    raise WorkerGone("the process sent an answer larger than the limit")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _exit_description(self) -> str:
        code = self.process.poll()
        if code is None:
            return "the process stopped answering"
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"the process was killed by {name}{hint}"
        return f"the process exited with status {code}"

    def close(self) -> None:
        """Kill the worker's whole process group and delete its folder."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _limit_resources(memory_mb: int) -> None:
    """Runs in the child between fork and exec."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def worker_environment(workdir: Path) -> dict[str, str]:
    """A minimal environment: no secrets of the grader's shell leak into student code."""
    return {
        "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    } | {
        key: os.environ[key]
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
        if key in os.environ
    }


def start_worker(limits: Limits) -> ProcessChannel:
    """Start a fresh worker process in its own throw-away folder."""
    workdir = Path(tempfile.mkdtemp(prefix="gradekit-student-"))
    command = [sys.executable, "-I", "-m", "gradekit.worker"]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        env=worker_environment(workdir),
        start_new_session=True,
        preexec_fn=lambda: _limit_resources(limits.memory_mb),
    )
    return ProcessChannel(process, workdir, limits.max_response_mb * 1024 * 1024)


class InProcessChannel:
    """A worker in this very process (the instructor's own kernel: trusted code only).

    Requests still go through the wire encoding, so the graders see exactly what they would see
    from a sandboxed process.
    """

    def __init__(self, worker: Any):
        self.worker = worker

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        response = self.worker.handle(wire.loads(wire.dumps(message)))
        return wire.loads(wire.dumps(response))

    def close(self) -> None:
        self.worker.handles.clear()
