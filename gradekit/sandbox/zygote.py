"""A fork server inside the sandbox: one process imports the heavy modules once, then forks a fresh
grading worker, or a fresh Jupyter kernel, for every notebook.

Importing large libraries and ipykernel costs seconds; forking a process that already did costs
milliseconds. The zygote runs confined like any worker; the trusted side
(:mod:`gradekit.sandbox.fork_server`) talks to it over a Unix socket, one command per message:

- ``spawn`` (with the worker's socket passed as a file descriptor): fork a grading worker;
- ``kernel MAX_OUTPUT FILES CONNECTION_FILE``: fork an IPython kernel that serves that connection
  file, in a fresh home whose entries link to the (read-only) submission files in ``FILES``, and
  that drops what its stdout and stderr get beyond ``MAX_OUTPUT`` characters;
- ``poll PID`` / ``status PID``: a child's exit code (``running``; ``status`` waits a little);
- ``signal PID SIGNUM`` / ``kill PID``: signal a child's process group;
- ``reset``: kill every process of the sandbox but the zygote.

Workers are forked beside each other (one notebook's checks may use several): the host resets
the zygote before the next student's notebook. A kernel is forked alone: everything else is
killed first.

Under bubblewrap every child is confined in namespaces of its own (:mod:`gradekit.sandbox.confine`):
it cannot see, signal or ptrace the zygote or any other student's process, its home is private and
vanishes with it, and killing it kills everything it started. The zygote is not dumpable, and
before every fork it kills every other process in its sandbox all the same. The zygote itself
never runs student code; without bubblewrap (resource limits only) the children are plain forks.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradekit.sandbox import confine
from gradekit.sandbox.safe_files import remove_tree

#: Where the sandbox sees the kit's own package, read-only (see gradekit.sandbox.isolation).
KIT_MOUNT = "/opt/gradekit"


def preload(modules: list[str]) -> None:
    """Import the modules students' definitions will import anyway (trusted code only)."""
    for name in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _other_processes() -> list[int]:
    """Processes of this sandbox but the zygote and its init (own PID namespace: /proc is ours)."""
    keep = {os.getpid(), os.getppid(), 1}
    return [
        int(entry) for entry in os.listdir("/proc") if entry.isdigit() and int(entry) not in keep
    ]


def _clean_up(own_namespace: bool, children: set[int]) -> None:
    targets = _other_processes() if own_namespace else list(children)
    for pid in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL) if pid in children else os.kill(pid, signal.SIGKILL)
    children.clear()


def _reap(statuses: dict[int, int]) -> None:
    """Collect the exit codes of finished children (negative: killed by that signal)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        statuses[pid] = os.waitstatus_to_exitcode(status)


def _exit_code(pid: int, statuses: dict[int, int]) -> str:
    """A child's exit code, waiting briefly for it to finish ending; ``unknown`` otherwise."""
    for _ in range(100):
        _reap(statuses)
        if pid in statuses:
            return str(statuses.pop(pid))
        time.sleep(0.02)
    return "unknown"


def _fresh_folder(home: Path, previous: list[Path]) -> Path:
    """A new working folder for the next child; the previous children's folders are deleted,
    so nothing one student's code wrote (files, IPython's history) is left for the next."""
    for folder in previous:
        remove_tree(folder)  # also where the student's code took away the permissions
    previous[:] = [Path(tempfile.mkdtemp(dir=home))]
    return previous[0]


def _detach(control: socket.socket, workdir: Path) -> None:
    """In a forked child: no hold on the zygote's socket, a session of its own, ``workdir`` as
    working folder, and stdio to /dev/null."""
    with contextlib.suppress(OSError):  # a confined child has closed it already
        control.close()
    with contextlib.suppress(PermissionError):  # a confined child leads its session already
        os.setsid()
    os.chdir(workdir)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _become_worker(connection: socket.socket, control: socket.socket, workdir: Path) -> None:
    """In the forked child: a fresh session, folder and stdio, then serve the worker protocol."""
    from gradekit.sandbox.worker import Worker, serve

    _detach(control, workdir)
    requests = connection.makefile("rb")
    responses = connection.makefile("wb")
    try:
        serve(requests, responses, Worker(workdir=workdir, time_limits=True))
    finally:
        os._exit(0)


def _cap_output(streams: tuple[Any, ...], max_chars: int) -> None:
    """Drop what ``streams`` get beyond ``max_chars`` characters in total.

    ipykernel gathers what a cell prints in memory and sends it as one message: a print loop would
    build messages of hundreds of MiB that take longer to send than the cell may run, and nbgrader's
    side (which drops outputs and interrupts at its own, smaller limit) would only see a timeout.
    """
    written = 0

    def capped(write: Callable[[str], Any]) -> Callable[[str], Any]:
        def write_within_cap(text: str) -> Any:
            nonlocal written
            room = max_chars - written
            written += len(text)
            if room > 0:
                write(text[:room])
            return len(text)

        return write_within_cap

    for stream in streams:
        stream.write = capped(stream.write)


def _become_kernel(
    control: socket.socket, workdir: Path, files: Path, connection_file: str, max_output: int
) -> None:
    """In the forked child: a fresh session and home (with the submission's files), then run an
    IPython kernel as ``python -m ipykernel_launcher -f CONNECTION_FILE`` would."""
    _detach(control, workdir)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel handles SIGINT while a cell runs
    for entry in sorted(files.iterdir()):
        (workdir / entry.name).symlink_to(entry)
    for key in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
        os.environ[key] = str(workdir)
    tempfile.tempdir = None
    # What `python -m ipykernel_launcher` would have: its own random state, the working folder
    # first on the path and the kit's folder not on it, and the environment's "no bytecode" (the
    # zygote runs isolated, -I, which ignores the environment).
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    sys.path[:] = [str(workdir)] + [path for path in sys.path if not path.startswith(KIT_MOUNT)]
    for name in [name for name in sys.modules if name.split(".")[0] == "gradekit"]:
        del sys.modules[name]  # the kernel has no use for the kit (this function still runs)
    sys.dont_write_bytecode = True
    sys.argv = ["ipykernel_launcher", "-f", connection_file]
    try:
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(sys.argv[1:])
        confine.started()  # its sockets exist: the socket folder becomes read-only
        _cap_output((sys.stdout, sys.stderr), max_output)
        app.start()
    finally:
        os._exit(0)


def _fork(
    confined: bool,
    home: Path,
    folders: list[Path],
    shared: tuple[tuple[str, bool], ...] = (),
    keep_fds: tuple[int, ...] = (),
    sealed: tuple[str, ...] = (),
) -> tuple[int, Path]:
    """Fork the next student's process: confined where namespaces work, else a plain fork in a
    fresh folder. Returns what :func:`os.fork` returns, and the child's working folder."""
    if confined:
        layout = confine.Layout(home=str(home), shared=shared, sealed_when_started=sealed)
        return confine.fork_confined(layout, keep_fds), home
    workdir = _fresh_folder(home, folders)
    return os.fork(), workdir


def main(control_fd: int) -> None:
    """The zygote's loop: preload, then answer the commands (module docstring) on ``control_fd``."""
    preload(sys.argv[1:])
    own_namespace = os.getpid() <= 3  # under bubblewrap: its own PID namespace
    confined = own_namespace and confine.available()
    confine.not_dumpable()  # no process of this uid may ptrace the zygote or read its memory
    home = Path(os.environ.get("HOME", tempfile.gettempdir()))
    control = socket.socket(fileno=control_fd)
    children: set[int] = set()
    statuses: dict[int, int] = {}
    folders: list[Path] = []
    while True:
        message, fds, _, _ = socket.recv_fds(control, 4096, 1)
        if not message:
            break
        _reap(statuses)
        command, _, argument = message.decode().partition(" ")
        if command == "spawn" and fds:  # beside the others: the host resets between students
            connection = socket.socket(fileno=fds[0])
            pid, workdir = _fork(confined, home, folders, keep_fds=(fds[0],))
            if pid == 0:
                _become_worker(connection, control, workdir)
            connection.close()
            children.add(pid)
            control.sendall(f"{pid}\n".encode())
        elif command == "kernel":
            _clean_up(own_namespace, children)
            max_output, files, connection_file = argument.split(" ", 2)
            sockets = str(Path(connection_file).parent)
            shared = ((files, False), (sockets, True))
            pid, workdir = _fork(confined, home, folders, shared=shared, sealed=(sockets,))
            if pid == 0:
                _become_kernel(control, workdir, Path(files), connection_file, int(max_output))
            children.add(pid)
            control.sendall(f"{pid}\n".encode())
        elif command == "status":
            control.sendall(f"{_exit_code(int(argument), statuses)}\n".encode())
        elif command == "poll":
            code = statuses.get(int(argument))
            control.sendall(f"{'running' if code is None else code}\n".encode())
        elif command in ("kill", "signal"):
            target, _, number = argument.partition(" ")
            with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                os.killpg(int(target), int(number or signal.SIGKILL))
            control.sendall(b"ok\n")
        elif command == "reset":
            _clean_up(own_namespace, children)
            control.sendall(b"ok\n")
        elif command == "confined":
            control.sendall(f"{int(confined)}\n".encode())
