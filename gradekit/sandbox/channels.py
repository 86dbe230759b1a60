"""Talking to the process that runs a student's code: request/response channels.

A :class:`Channel` answers protocol requests (:mod:`gradekit.sandbox.wire`), each within a
deadline. :class:`ProcessChannel` talks to a worker process of its own over its pipes,
:class:`ForkedChannel` to one forked by a fork server (:mod:`gradekit.sandbox.fork_server`) over a
Unix socket, :class:`InProcessChannel` to a worker in this very process (trusted code only). What
can go wrong is said by :class:`WorkerGone`, :class:`SandboxLost` and :class:`WorkerTimeout`.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gradekit.sandbox import wire
from gradekit.sandbox.resources import kill_cgroup, remove_cgroup
from gradekit.sandbox.safe_files import remove_tree

if TYPE_CHECKING:
    from gradekit.sandbox.fork_server import Zygote


class WorkerGone(RuntimeError):
    """The student's process ended (crash, ``os._exit``, killed by a limit)."""


class SandboxLost(WorkerGone):
    """The sandbox around the student's process ended (its fork server died): not the doing
    of the student's code, which cannot reach the fork server (:mod:`gradekit.sandbox.confine`)."""


class WorkerTimeout(RuntimeError):
    """The student's process did not answer within the deadline; it has been killed."""


class Channel(Protocol):
    """Anything that answers protocol requests (a sandboxed process or an in-process worker)."""

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LineChannel:
    """JSON-line requests and responses over file descriptors, with a deadline per request.

    Subclasses say how to tell that the other side is gone and how to stop it.

    Args:
        read_fd: Where responses arrive.
        write_fd: Where requests go.
        max_response_bytes: Largest response line accepted.
    """

    def __init__(self, read_fd: int, write_fd: int, max_response_bytes: int):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.max_response_bytes = max_response_bytes
        self._buffer = b""
        self._next_id = 0
        # One poll object for the channel's life: a selector per request costs three more
        # system calls (create, register, close) on every call into the student's code.
        self._poll = select.poll()
        self._poll.register(read_fd, select.POLLIN)

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait at most ``timeout`` seconds for its response.

        Raises:
            WorkerTimeout: No answer in time (the worker is killed).
            WorkerGone: The worker ended or answered something unreadable.
        """
        self._next_id += 1
        try:
            data = memoryview(wire.dumps({**message, "id": self._next_id}))
            while data:
                data = data[os.write(self.write_fd, data) :]
        except OSError as error:
            raise self._gone() from error
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
        # Chunks are kept apart and searched once each: joining or searching a growing buffer
        # would cost time quadratic in the size of a long answer.
        chunks = [self._buffer] if self._buffer else []
        size = len(self._buffer)
        end = self._buffer.find(b"\n")
        while end < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._poll.poll(math.ceil(remaining * 1000)):
                self.close()
                raise WorkerTimeout("no answer before the deadline")
            try:
                chunk = os.read(self.read_fd, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                raise self._gone()
            end = chunk.find(b"\n")
            if end >= 0:
                end += size
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_response_bytes and (end < 0 or end > self.max_response_bytes):
                self.close()
                raise WorkerGone("the process sent an answer larger than the limit")
        data = b"".join(chunks)
        self._buffer = data[end + 1 :]
        return data[:end]

    def _gone(self) -> WorkerGone:
        """Close the channel and say why the worker is gone."""
        self.close()
        return WorkerGone("the process ended")

    def close(self) -> None:
        raise NotImplementedError


class ProcessChannel(LineChannel):
    """A worker process of its own, talking over its stdin/stdout pipes.

    Args:
        process: The started worker.
        workdir: Its throw-away working folder (deleted on :meth:`close`).
        max_response_bytes: Largest response line accepted.
        cgroup: Its process-limiting cgroup, if any (all its processes are killed on close).
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        workdir: Path,
        max_response_bytes: int,
        cgroup: Path | None = None,
    ):
        assert process.stdout is not None and process.stdin is not None
        super().__init__(process.stdout.fileno(), process.stdin.fileno(), max_response_bytes)
        self.process = process
        self.workdir = workdir
        self.cgroup = cgroup

    def _gone(self) -> WorkerGone:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        description = exit_description(self.process.poll())
        self.close()
        return WorkerGone(description)

    def close(self) -> None:
        """Kill the worker and everything it started, delete its folder."""
        if self.cgroup is not None:
            kill_cgroup(self.cgroup)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        remove_tree(self.workdir)
        if self.cgroup is not None:
            remove_cgroup(self.cgroup)
            self.cgroup = None


def exit_description(code: int | None) -> str:
    """Why a process ended, in words."""
    if code is None:
        return "the process stopped answering"
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"the process was killed by {name}{hint}"
    return f"the process exited with status {code}"


class ForkedChannel(LineChannel):
    """A worker forked by a :class:`Zygote`, talking over a Unix socket."""

    def __init__(
        self, connection: socket.socket, pid: int, zygote: Zygote, max_response_bytes: int
    ):
        super().__init__(connection.fileno(), connection.fileno(), max_response_bytes)
        self.connection = connection
        self.pid = pid
        self.zygote = zygote

    def _gone(self) -> WorkerGone:
        code = self.zygote.status(self.pid)
        self.close()
        if code is None and not self.zygote.alive:  # the fork server did not answer: gone
            return SandboxLost("the sandbox's fork server ended")
        return WorkerGone(exit_description(code))

    def close(self) -> None:
        if self.pid:
            self.zygote.kill(self.pid)
            self.pid = 0
        with contextlib.suppress(OSError):
            self.connection.close()


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
