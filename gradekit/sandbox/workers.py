"""Starting the processes that run a student's code, with limits: a :class:`WorkerPool`.

A :class:`WorkerPool` gives fresh, confined workers: forked from a fork server that has already
imported the heavy modules (:mod:`gradekit.sandbox.fork_server`), or (with nothing to preload)
``python -m gradekit.sandbox.worker`` of its own (:func:`start_process_worker`) in a throw-away
folder with a memory limit, no stdin/stdout of its own and its own process group, so a timeout
kills everything the student's code started. Whoever grades owns a pool and closes it; nothing of
it is kept by the module.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path

from gradekit.sandbox.channels import LineChannel, ProcessChannel, WorkerGone, WorkerTimeout
from gradekit.sandbox.fork_server import Zygote
from gradekit.sandbox.isolation import (
    SANDBOX_HOME,
    Isolation,
    choose_isolation,
    worker_environment,
)
from gradekit.sandbox.leftovers import folder_prefix, sweep_once
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.resources import limit_resources, pids_cgroup
from gradekit.sandbox.zygote import KIT_MOUNT

_BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {KIT_MOUNT!r}); "
    "from gradekit.sandbox.worker import main; main()"
)


class WorkerPool:
    """The fork servers that start one grader's workers, and the isolation chosen for them.

    Its owner (a suite session of :mod:`gradekit.checks.grading`, a ``pytest --notebook`` run, a
    test) keeps it while its workers run and closes it when done; a pool that is garbage-collected
    or still open when the process exits is closed then. A fork server dies with the thread that
    started it: a pool serves one thread.
    """

    def __init__(self) -> None:
        self._zygotes: dict[tuple[Limits, tuple[str, ...]], Zygote] = {}
        self._isolations: dict[str, Isolation] = {}
        self._finalizer = weakref.finalize(self, _close_zygotes, self._zygotes)

    def isolation(self, preference: str = "auto") -> Isolation:
        """The strongest isolation this machine allows (probed once per pool, and logged).

        Args:
            preference: ``auto``, ``bubblewrap`` (fail if unavailable) or ``rlimits``.
        """
        if preference not in self._isolations:
            self._isolations[preference] = choose_isolation(preference)
        return self._isolations[preference]

    def start(self, limits: Limits, without: Sequence[str] = ()) -> LineChannel:
        """A fresh, confined worker: forked from this pool's fork server for ``limits`` and
        ``without`` (started on first use, restarted if it died), or a process of its own.

        Args:
            limits: Its limits.
            without: Packages absent from its sandbox (see :class:`Zygote`).
        """
        if not limits.preload:
            return start_process_worker(limits, isolation=self.isolation(limits.isolation))
        key = (limits, tuple(sorted(without)))
        zygote = self._zygotes.get(key)
        if zygote is None or not zygote.alive:
            zygote = self._zygotes[key] = self._zygote(key)
        with contextlib.suppress(WorkerGone, WorkerTimeout, OSError):
            return zygote.spawn()
        self._zygotes.pop(key, None)  # a dead zygote: start a new one
        zygote = self._zygotes[key] = self._zygote(key)
        return zygote.spawn()

    def fork_server(self, limits: Limits, without: Sequence[str] = ()) -> Zygote | None:
        """The fork server that starts workers for ``limits`` and ``without``, if started."""
        return self._zygotes.get((limits, tuple(sorted(without))))

    def reset(self) -> None:
        """Kill every worker this pool's fork servers have forked (before the next student)."""
        for zygote in list(self._zygotes.values()):
            zygote.reset()

    def close(self) -> None:
        """Stop the fork servers and everything they started (the pool can start new ones)."""
        _close_zygotes(self._zygotes)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _zygote(self, key: tuple[Limits, tuple[str, ...]]) -> Zygote:
        limits, without = key
        isolation = self.isolation(limits.isolation)
        return Zygote(limits, limits.preload, without=without, isolation=isolation)


def _close_zygotes(zygotes: dict[tuple[Limits, tuple[str, ...]], Zygote]) -> None:
    """Close ``zygotes`` and forget them (a function, not a method: a pool's finalizer calls it
    and must not keep the pool alive)."""
    for zygote in list(zygotes.values()):
        zygote.close()
    zygotes.clear()


def start_process_worker(limits: Limits, *, isolation: Isolation) -> ProcessChannel:
    """A fresh, confined worker process of its own (no fork server).

    Args:
        limits: Its limits.
        isolation: How it is confined.
    """
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
