"""Starting the process that runs a student's code, with limits, and talking to it.

:class:`Limits` are the knobs an instructor sets in ``nbgrader_config.py`` (``GradeKit.*``).
:func:`start_worker` starts ``python -m gradekit.sandbox.worker`` in a throw-away folder with a
memory limit, no stdin/stdout of its own and its own process group, so a timeout kills everything
the student's code started. :class:`Channel` is the request/response pipe with a deadline per
request.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import logging
import math
import os
import resource
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gradekit.sandbox import wire
from gradekit.sandbox.leftovers import CGROUP_ROOT, cgroup_name, folder_prefix, sweep_once
from gradekit.sandbox.safe_files import remove_tree
from gradekit.sandbox.zygote import KIT_MOUNT


@dataclass(frozen=True)
class Limits:
    """Resource limits for the processes that run student code.

    Attributes:
        call_timeout: Seconds one request (a call into student code) may take.
        load_timeout: Seconds for starting the process and loading the notebook's definitions.
        statement_timeout: Seconds one statement of the definitions may take while loading (a
            slower one fails alone, as if it raised).
        notebook_budget: Seconds of student code per notebook in total; later checks fail fast.
        memory_mb: Address-space limit of the student's process, in MiB.
        max_response_mb: Largest answer accepted from the student's process, in MiB.
        max_restarts: How often a crashed or timed-out process is restarted for later checks.
        isolation: ``auto`` (the strongest available), ``bubblewrap`` or ``rlimits``.
        preload: Modules a fork server imports once for all workers (empty: one process per
            worker, no fork server); the course lists what its notebooks and checks import.
    """

    call_timeout: float = 30.0
    load_timeout: float = 90.0
    statement_timeout: float = 15.0
    notebook_budget: float = 300.0
    memory_mb: int = 3072
    max_response_mb: int = 16
    max_restarts: int = 4
    isolation: str = "auto"
    preload: tuple[str, ...] = ("numpy",)


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


class Zygote:
    """A fork server in the sandbox that has already imported the heavy modules.

    Args:
        limits: Limits of every worker it forks.
        preload: Modules imported once, before any fork.
        binds: Extra mounts of its sandbox, as in :func:`bubblewrap_arguments`.
        without: Packages absent from its sandbox (under bubblewrap: importing one raises
            ``ModuleNotFoundError``; with resource limits only they stay importable).
    """

    def __init__(
        self,
        limits: Limits,
        preload: tuple[str, ...],
        binds: Sequence[tuple[str, str, str]] = (),
        without: Sequence[str] = (),
    ):
        self.limits = limits
        self.control, theirs = socket.socketpair()
        isolation = choose_isolation(limits.isolation)
        sweep_once()  # what killed grading processes left behind
        self.workdir = Path(tempfile.mkdtemp(prefix=folder_prefix("zygote")))
        home = SANDBOX_HOME if isolation.name == "bubblewrap" else str(self.workdir)
        if without:
            preload = tuple(name for name in preload if name.split(".")[0] not in without)
            if isolation.name == "bubblewrap":
                binds = [*binds, *_blocked_packages(without, self.workdir / "blocked")]
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


#: The kit's package folder (``gradekit/``), mounted read-only at ``KIT_MOUNT`` in the sandbox.
KIT_PACKAGE = Path(__file__).resolve().parents[1]
#: The sandbox's private working folder (the kit's own package is at ``KIT_MOUNT``, read-only).
SANDBOX_HOME = "/sandbox"
#: Size of the sandbox's private, memory-backed working folder.
SANDBOX_TMPFS_BYTES = 512 * 1024 * 1024
#: Processes one student's sandbox may run at once (a fork bomb stops there).
MAX_PROCESSES = 64
_BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {KIT_MOUNT!r}); "
    "from gradekit.sandbox.worker import main; main()"
)
_ZYGOTE_BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {KIT_MOUNT!r}); "
    "from gradekit.sandbox.zygote import main; main({fd})"
)

log = logging.getLogger("gradekit.sandbox.processes")


@dataclass(frozen=True)
class Isolation:
    """How processes that run student code are confined.

    Attributes:
        name: ``bubblewrap`` (namespaces, nothing of the host but the Python installation
            visible, read-only) or ``rlimits`` (resource limits only: the fallback).
        description: One line for the log.
    """

    name: str
    description: str

    def command(
        self, argv: list[str], env: dict[str, str], binds: Sequence[tuple[str, str, str]] = ()
    ) -> list[str]:
        """``argv`` wrapped so that it runs confined (with exactly ``env`` as environment and
        the extra mounts ``binds``, see :func:`bubblewrap_arguments`)."""
        if self.name != "bubblewrap":
            return argv
        return [*bubblewrap_arguments(env, binds=binds), "--", *argv]


def bubblewrap_arguments(
    env: dict[str, str],
    *,
    binds: Sequence[tuple[str, str, str]] = (),
    kit: bool = True,
    new_session: bool = True,
) -> list[str]:
    """bwrap options: new namespaces (no network, own PIDs), unprivileged uid, read-only system
    and Python installation, a private tmpfs as home.

    Args:
        env: The sandbox's whole environment.
        binds: Extra ``(option, source, target)`` mounts after the home tmpfs, e.g.
            ``("--ro-bind", "/x/helpers.py", "/sandbox/helpers.py")``.
        kit: Make the kit's package visible at :data:`KIT_MOUNT` (the grading worker needs it).
        new_session: Start a new terminal session (off for a Jupyter kernel, which must stay in
            its launcher's process group so that interrupts reach it; the launcher already has
            no controlling terminal).
    """
    args = ["bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534"]
    args += ["--die-with-parent", "--proc", "/proc", "--dev", "/dev"]
    if new_session:
        args.append("--new-session")
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for prefix in sorted(
        {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent.parent)}
    ):
        if not prefix.startswith("/usr"):
            args += ["--ro-bind", prefix, prefix]
    if kit:
        args += ["--ro-bind", str(KIT_PACKAGE), f"{KIT_MOUNT}/gradekit"]
    args += ["--size", str(SANDBOX_TMPFS_BYTES), "--tmpfs", SANDBOX_HOME]
    for option, source, target in binds:
        args += [option, source, target]
    args += ["--chdir", SANDBOX_HOME, "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


@functools.cache
def choose_isolation(preference: str = "auto") -> Isolation:
    """The strongest isolation this machine allows (probed once per process, and logged).

    Args:
        preference: ``auto``, ``bubblewrap`` (fail if unavailable) or ``rlimits``.
    """
    if preference in ("auto", "bubblewrap") and shutil.which("bwrap"):
        probe = [*bubblewrap_arguments({}), "--", sys.executable, "-I", "-c", "pass"]
        result = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode == 0:
            isolation = Isolation(
                "bubblewrap",
                "student code runs under bubblewrap: no network, own PID namespace, uid nobody, "
                "read-only system, private tmpfs; memory, time and process limits",
            )
            log.info("sandbox: %s", isolation.description)
            return isolation
        log.warning(
            "bubblewrap is installed but does not work here: %s", result.stderr.strip()[-300:]
        )
    if preference == "bubblewrap":
        raise RuntimeError("bubblewrap isolation was required but is not available")
    isolation = Isolation(
        "rlimits",
        "student code runs as a separate process with memory, time and process limits only "
        "(install bubblewrap for namespaces: no network, no view of the host's files)",
    )
    log.warning("sandbox: %s", isolation.description)
    return isolation


def limit_resources(memory_mb: int, cgroup: Path | None) -> None:
    """Runs in the child between fork and exec."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if cgroup is not None:
        with contextlib.suppress(OSError):
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))


def pids_cgroup() -> Path | None:
    """A fresh cgroup (v1 ``pids`` controller) capping the number of processes, if writable
    (named after this process: :mod:`gradekit.sandbox.leftovers` removes it should this process be
    killed)."""
    try:
        group = CGROUP_ROOT / cgroup_name(uuid.uuid4().hex)
        group.mkdir(parents=True)
        (group / "pids.max").write_text(str(MAX_PROCESSES))
    except OSError:
        return None
    return group


def worker_environment(home: str) -> dict[str, str]:
    """A minimal environment: no secrets of the grader's shell leak into student code."""
    return {
        "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "MPLCONFIGDIR": home,
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


def _blocked_packages(packages: Sequence[str], folder: Path) -> list[tuple[str, str, str]]:
    """Mounts that put, over each installed package's folder, one whose import fails."""
    binds = []
    for name in packages:
        installed = _package_folder(name)
        if installed is None:
            continue
        blocker = folder / name
        blocker.mkdir(parents=True)
        (blocker / "__init__.py").write_text(
            f"raise ModuleNotFoundError({_ABSENT.format(name=name)!r}, name={name!r})\n"
        )
        binds.append(("--ro-bind", str(blocker), str(installed)))
    return binds


#: The message of importing a package absent from a sandbox.
_ABSENT = "No module named '{name}' (not available where this item is graded)"


def _package_folder(name: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


_zygotes: dict[tuple[Limits, tuple[str, ...]], Zygote] = {}


def start_worker(limits: Limits, without: Sequence[str] = ()) -> LineChannel:
    """A fresh, confined worker: forked from this process's zygote, or a process of its own.

    Args:
        limits: Its limits.
        without: Packages absent from its sandbox (see :class:`Zygote`).
    """
    if limits.preload:
        key = (limits, tuple(sorted(without)))
        zygote = _zygotes.get(key)
        if zygote is None or not zygote.alive:
            zygote = _zygotes[key] = Zygote(limits, limits.preload, without=key[1])
        with contextlib.suppress(WorkerGone, WorkerTimeout, OSError):
            return zygote.spawn()
        _zygotes.pop(key, None)  # a dead zygote: start a new one next time
        zygote = _zygotes[key] = Zygote(limits, limits.preload, without=key[1])
        return zygote.spawn()
    return start_process_worker(limits)


def reset_workers() -> None:
    """Kill every worker this process's fork servers have forked (before the next student)."""
    for zygote in list(_zygotes.values()):
        zygote.reset()


@atexit.register
def _stop_zygotes() -> None:
    for zygote in _zygotes.values():
        zygote.close()
    _zygotes.clear()


def start_process_worker(limits: Limits) -> ProcessChannel:
    """A fresh, confined worker process of its own (no fork server)."""
    isolation = choose_isolation(limits.isolation)
    sweep_once()
    workdir = Path(tempfile.mkdtemp(prefix=folder_prefix("student")))
    if isolation.name == "bubblewrap":
        env = worker_environment(SANDBOX_HOME)
        argv = isolation.command([sys.executable, "-I", "-c", _BOOTSTRAP], env)
    else:
        env = worker_environment(str(workdir))
        argv = [sys.executable, "-I", "-m", "gradekit.sandbox.worker"]
    cgroup = pids_cgroup()
    process = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: limit_resources(limits.memory_mb, cgroup),
    )
    return ProcessChannel(process, workdir, limits.max_response_mb * 1024 * 1024, cgroup)


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


def kill_cgroup(group: Path) -> None:
    """SIGKILL every process in the cgroup (including any that left the process group)."""
    with contextlib.suppress(OSError):
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                os.kill(int(pid), signal.SIGKILL)


def remove_cgroup(group: Path) -> None:
    for _ in range(50):
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.02)
