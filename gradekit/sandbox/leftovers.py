"""Leftovers of grading processes that were killed: removed by the next one.

Every cgroup and temporary folder the engine creates carries its creator in its name: the pid
and the creator's start time (``/proc/<pid>/stat``, in clock ticks since boot), so that a pid
reused by another process is not mistaken for the creator. A process killed with SIGKILL cannot
clean up; the next grading process does, when it starts (:func:`sweep`, once per process): it
removes every such folder and cgroup whose creator is gone, killing what is still in the cgroup.
Folders of a creator that still runs, other users' folders and names not made here are left alone.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import signal
import tempfile
import time
from pathlib import Path

from gradekit.sandbox.safe_files import remove_tree

log = logging.getLogger("gradekit.sandbox.leftovers")

#: Where the engine's cgroups live (cgroup v1 ``pids`` controller).
CGROUP_ROOT = Path("/sys/fs/cgroup/pids/gradekit")
#: ``gradekit-<kind>-<pid>.<start time>-<random>``: a temporary folder of the engine.
_FOLDER = re.compile(r"gradekit-[a-z]+-(\d+)\.(\d+)-")
#: ``<pid>.<start time>-<random>``: a cgroup of the engine.
_CGROUP = re.compile(r"(\d+)\.(\d+)-")


def start_time(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (``None`` if there is no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])  # field 22 of the whole line


@functools.cache
def tag() -> str:
    """``<pid>.<start time>`` of this process."""
    return f"{os.getpid()}.{start_time(os.getpid()) or 0}"


def folder_prefix(kind: str) -> str:
    """The prefix of a temporary folder of ``kind`` made by this process (for ``mkdtemp``)."""
    return f"gradekit-{kind}-{_current_tag()}-"


def cgroup_name(random: str) -> str:
    """The name of a cgroup made by this process."""
    return f"{_current_tag()}-{random}"


def _current_tag() -> str:
    # A fork of this process (a Dask worker started by fork, say) is a creator of its own.
    return tag() if tag().startswith(f"{os.getpid()}.") else _fresh_tag()


def _fresh_tag() -> str:
    tag.cache_clear()
    return tag()


def creator_alive(pid: int, started: int) -> bool:
    """Whether the process that made a leftover still runs."""
    return start_time(pid) == started


def sweep(temp: Path | None = None, cgroups: Path = CGROUP_ROOT) -> list[Path]:
    """Remove the engine's folders and cgroups whose creator is gone.

    Args:
        temp: The temporary folder to look in (default: :func:`tempfile.gettempdir`).
        cgroups: The folder of the engine's cgroups.

    Returns:
        What was removed.
    """
    removed = []
    temp = Path(temp or tempfile.gettempdir())
    uid = os.getuid()
    with contextlib.suppress(OSError):
        for path in temp.iterdir():
            found = _FOLDER.match(path.name)
            if not found or creator_alive(int(found[1]), int(found[2])):
                continue
            with contextlib.suppress(OSError):
                if path.lstat().st_uid != uid or path.is_symlink() or not path.is_dir():
                    continue
                remove_tree(path)
                if not path.exists():
                    removed.append(path)
    with contextlib.suppress(OSError):
        for group in cgroups.iterdir():
            found = _CGROUP.match(group.name)
            dead = found and group.is_dir() and not creator_alive(int(found[1]), int(found[2]))
            if dead and _remove_cgroup(group):
                removed.append(group)
    if removed:
        log.info("removed %d leftovers of killed grading processes", len(removed))
    return removed


def _remove_cgroup(group: Path) -> bool:
    """Kill whatever still runs in ``group`` and remove it."""
    for _ in range(50):
        with contextlib.suppress(OSError):
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
        try:
            group.rmdir()
            return True
        except FileNotFoundError:
            return False
        except OSError:
            time.sleep(0.02)
    return False


_swept: set[int] = set()


def sweep_once() -> None:
    """:func:`sweep`, the first time this process (a fork counts anew) asks."""
    if os.getpid() in _swept:
        return
    _swept.add(os.getpid())
    try:
        sweep()
    except Exception as error:  # never a reason not to grade
        log.warning("removing leftovers failed: %s", error)
