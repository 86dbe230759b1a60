"""Starting the process that runs a student's code, with limits.

:func:`start_worker` gives a fresh, confined worker: forked from a fork server that has already
imported the heavy modules (:mod:`gradekit.sandbox.fork_server`), or
``python -m gradekit.sandbox.worker`` of its own in a throw-away folder with a memory limit, no
stdin/stdout of its own and its own process group, so a timeout kills everything the student's
code started.
"""

from __future__ import annotations

import atexit
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gradekit.sandbox.channels import LineChannel, ProcessChannel, WorkerGone, WorkerTimeout
from gradekit.sandbox.fork_server import Zygote
from gradekit.sandbox.isolation import SANDBOX_HOME, choose_isolation, worker_environment
from gradekit.sandbox.leftovers import folder_prefix, sweep_once
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.resources import limit_resources, pids_cgroup
from gradekit.sandbox.zygote import KIT_MOUNT

_BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {KIT_MOUNT!r}); "
    "from gradekit.sandbox.worker import main; main()"
)


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
