"""A fork server inside the sandbox: one process imports the heavy modules once, then forks a fresh
worker for every notebook.

Importing torch costs about two seconds; forking a process that already did costs milliseconds.
The zygote runs confined like any worker (:mod:`gradekit.sandbox`) and talks to the trusted side
over a Unix socket: ``spawn`` (with the worker's socket passed as a file descriptor) forks
a worker that serves that socket, ``kill PID`` ends one. Before every spawn the zygote kills every
other process in its sandbox, so nothing a previous student's code left running can touch the next
worker. The zygote itself never runs student code.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path


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


def _become_worker(connection: socket.socket, control: socket.socket, home: Path) -> None:
    """In the forked child: a fresh session, folder and stdio, then serve the worker protocol."""
    from gradekit.worker import Guard, Worker, serve

    control.close()
    os.setsid()
    workdir = Path(tempfile.mkdtemp(dir=home))
    os.chdir(workdir)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    requests = connection.makefile("rb")
    responses = connection.makefile("wb")
    try:
        serve(requests, responses, Worker(workdir=workdir, guard=Guard(), time_limits=True))
    finally:
        os._exit(0)


def main(control_fd: int) -> None:
    """The zygote's loop: preload, then answer ``spawn`` and ``kill`` requests on ``control_fd``."""
    preload(sys.argv[1:])
    own_namespace = os.getpid() <= 3  # under bubblewrap: its own PID namespace
    home = Path(os.environ.get("HOME", tempfile.gettempdir()))
    control = socket.socket(fileno=control_fd)
    children: set[int] = set()
    statuses: dict[int, int] = {}
    while True:
        message, fds, _, _ = socket.recv_fds(control, 256, 1)
        if not message:
            break
        _reap(statuses)
        command, _, argument = message.decode().partition(" ")
        if command == "spawn" and fds:
            _clean_up(own_namespace, children)
            connection = socket.socket(fileno=fds[0])
            pid = os.fork()
            if pid == 0:
                _become_worker(connection, control, home)
            connection.close()
            children.add(pid)
            control.sendall(f"{pid}\n".encode())
        elif command == "status":
            control.sendall(f"{_exit_code(int(argument), statuses)}\n".encode())
        elif command == "kill":
            with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                os.killpg(int(argument), signal.SIGKILL)
            control.sendall(b"ok\n")
