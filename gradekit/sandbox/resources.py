"""Resource limits of a process that runs student code: rlimits and a pids cgroup.

:func:`limit_resources` runs in the child between fork and exec (memory limit, no core files,
joining its cgroup); :func:`pids_cgroup` makes the cgroup that caps its number of processes;
:func:`kill_cgroup` and :func:`remove_cgroup` end them all and remove it.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import time
import uuid
from pathlib import Path

from gradekit.sandbox.leftovers import CGROUP_ROOT, cgroup_name

#: Processes one student's sandbox may run at once (a fork bomb stops there).
MAX_PROCESSES = 64


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
