"""The host side of a fork server: a :class:`Zygote` forks workers and kernels.

The fork server itself (:mod:`gradekit.sandbox.zygote`) runs confined like any worker, has
imported the heavy modules once, and forks a fresh worker for every student in milliseconds;
:class:`Zygote` starts it and sends it its commands over a Unix socket.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gradekit.sandbox.channels import ForkedChannel, WorkerGone, WorkerTimeout
from gradekit.sandbox.isolation import (
    SANDBOX_HOME,
    Isolation,
    blocked_packages,
    worker_environment,
)
from gradekit.sandbox.leftovers import folder_prefix, sweep_once
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.resources import kill_cgroup, limit_resources, pids_cgroup, remove_cgroup
from gradekit.sandbox.safe_files import remove_tree
from gradekit.sandbox.zygote import KIT_MOUNT

_ZYGOTE_BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {KIT_MOUNT!r}); "
    "from gradekit.sandbox.zygote import main; main({fd})"
)


class Zygote:
    """A fork server in the sandbox that has already imported the heavy modules.

    Args:
        limits: Limits of every worker it forks.
        preload: Modules imported once, before any fork.
        binds: Extra mounts of its sandbox, as in :func:`bubblewrap_arguments`.
        without: Packages absent from its sandbox (under bubblewrap: importing one raises
            ``ModuleNotFoundError``; with resource limits only they stay importable).
        isolation: How it is confined (see :func:`gradekit.sandbox.isolation.choose_isolation`).
    """

    def __init__(
        self,
        limits: Limits,
        preload: tuple[str, ...],
        binds: Sequence[tuple[str, str, str]] = (),
        without: Sequence[str] = (),
        *,
        isolation: Isolation,
    ):
        self.limits = limits
        self.control, theirs = socket.socketpair()
        sweep_once()  # what killed grading processes left behind
        self.workdir = Path(tempfile.mkdtemp(prefix=folder_prefix("zygote")))
        home = SANDBOX_HOME if isolation.name == "bubblewrap" else str(self.workdir)
        if without:
            preload = tuple(name for name in preload if name.split(".")[0] not in without)
            if isolation.name == "bubblewrap":
                binds = [*binds, *blocked_packages(without, self.workdir / "blocked")]
        env = worker_environment(home)
        code = _ZYGOTE_BOOTSTRAP.format(fd=theirs.fileno())
        argv = isolation.command([sys.executable, "-I", "-c", code, *preload], env, binds)
        self.cgroup = pids_cgroup()
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.workdir,
            env=env,
            start_new_session=True,
            pass_fds=[theirs.fileno()],
            preexec_fn=lambda: limit_resources(limits.memory_mb, self.cgroup),
        )
        theirs.close()
        self._replies = self.control.makefile("rb")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def spawn(self) -> ForkedChannel:
        """Fork a fresh worker (beside the others: :meth:`reset` kills them)."""
        ours, theirs = socket.socketpair()
        try:
            socket.send_fds(self.control, [b"spawn"], [theirs.fileno()])
            reply = self._reply(self.limits.load_timeout)
        finally:
            theirs.close()
        return ForkedChannel(ours, int(reply), self, self.limits.max_response_mb * 1024 * 1024)

    def start_kernel(self, files: Path, connection_file: Path, *, max_output: int) -> int:
        """Fork a Jupyter kernel (everything left from the previous process is killed first).

        Args:
            files: Folder with the submission's other files (the kernel's home links to them).
            connection_file: The kernel's connection file (both paths as the sandbox sees them).
            max_output: Characters the kernel's stdout and stderr may send in total; the rest
                is dropped.

        Returns:
            The kernel's process id (in the zygote's PID namespace).
        """
        self.control.sendall(f"kernel {max_output} {files} {connection_file}".encode())
        return int(self._reply(self.limits.load_timeout))

    def poll(self, pid: int) -> int | None:
        """A child's exit code, ``None`` while it runs (a lost zygote counts as an exit)."""
        try:
            self.control.sendall(f"poll {pid}".encode())
            reply = self._reply(10)
        except (OSError, WorkerGone, WorkerTimeout):
            return -signal.SIGKILL
        return None if reply == "running" else int(reply)

    def signal(self, pid: int, signum: int) -> None:
        """Send ``signum`` to a child's process group."""
        with contextlib.suppress(OSError, WorkerGone, WorkerTimeout):
            self.control.sendall(f"signal {pid} {int(signum)}".encode())
            self._reply(10)

    def reset(self) -> None:
        """Kill every process of the sandbox but the zygote."""
        with contextlib.suppress(OSError, WorkerGone, WorkerTimeout):
            self.control.sendall(b"reset")
            self._reply(10)

    def status(self, pid: int) -> int | None:
        """A finished worker's exit code (``None`` if unknown)."""
        with contextlib.suppress(OSError, WorkerGone, WorkerTimeout, ValueError):
            self.control.sendall(f"status {pid}".encode())
            return int(self._reply(10))
        return None

    def kill(self, pid: int) -> None:
        with contextlib.suppress(OSError, WorkerGone, WorkerTimeout):
            self.control.sendall(f"kill {pid}".encode())
            self._reply(10)

    def _reply(self, timeout: float) -> str:
        with selectors.DefaultSelector() as selector:
            selector.register(self.control, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.close()
                raise WorkerTimeout("the fork server did not answer")
        line = self._replies.readline()
        if not line:
            self.close()
            raise WorkerGone("the fork server ended")
        return line.decode().strip()

    def close(self) -> None:
        if self.cgroup is not None:
            kill_cgroup(self.cgroup)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with contextlib.suppress(OSError):
            self._replies.close()
            self.control.close()
        remove_tree(self.workdir)
        if self.cgroup is not None:
            remove_cgroup(self.cgroup)
            self.cgroup = None
