"""The Jupyter kernel that executes a student's notebook, confined like the grading worker.

``nbgrader autograde`` runs every cell of the submission in a kernel: that is student code too.
:class:`SandboxedKernelManager` starts the kernel under the same isolation as the grading worker
(:func:`gradekit.sandbox.choose_isolation`): no network, no view of the course folder (gradebook,
source, graders, reference, other students), the Python installation read-only, a private
memory-backed home in which the submission's other files (helper modules) appear read-only, a
memory limit and a process limit. The kernel talks to nbgrader over Unix sockets (ZeroMQ ``ipc``
transport) in a throw-away folder that is the only thing of the host it can write to.

Under the ``rlimits`` fallback the kernel runs in a throw-away copy of the submission folder with
the same memory limit and a minimal environment.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from gradekit.course import GradeKit
from gradekit.sandbox import (
    SANDBOX_HOME,
    bubblewrap_arguments,
    choose_isolation,
    kill_cgroup,
    limit_resources,
    pids_cgroup,
    remove_cgroup,
    worker_environment,
)


def _launcher_setup(memory_mb: int, cgroup: Path | None) -> None:
    """Runs between fork and exec of the kernel's launcher (bwrap, or the kernel itself).

    Interrupting a kernel sends SIGINT to its process group, bwrap included, which would end the
    sandbox. Ignoring SIGINT here is inherited through exec by bwrap; the kernel installs its own
    SIGINT handler while it runs a cell, so interrupts still stop the cell.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_resources(memory_mb, cgroup)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run confined (see the module's docstring).

    Its limits are the grading worker's: ``GradeKit.memory_mb`` and ``GradeKit.isolation``.
    """

    _folder: Path | None = None
    _cgroup: Path | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self._folder is not None:  # a restart: the old kernel's sockets are of no use
            shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = Path(tempfile.mkdtemp(prefix="gradekit-kernel-"))
        sockets = self._folder / "sockets"
        sockets.mkdir()
        # The kernel (uid nobody in its user namespace) creates its sockets here.
        sockets.chmod(0o777)
        self.transport = "ipc"
        self.ip = str(sockets / "kernel")
        self.connection_file = str(self._folder / "connection.json")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        assert self._folder is not None
        submission = Path(kw.pop("cwd", None) or os.getcwd())
        files = [entry for entry in submission.iterdir() if entry.suffix != ".ipynb"]
        limits = GradeKit(config=self.config).limits()
        isolation = choose_isolation(limits.isolation)
        if isolation.name == "bubblewrap":
            env = worker_environment(SANDBOX_HOME)
            binds = [("--ro-bind", str(entry), f"{SANDBOX_HOME}/{entry.name}") for entry in files]
            binds += [
                ("--bind", self.ip.rsplit("/", 1)[0], self.ip.rsplit("/", 1)[0]),
                ("--ro-bind", self.connection_file, self.connection_file),
            ]
            argv = [
                *bubblewrap_arguments(env, binds=binds, kit=False, new_session=False),
                "--",
                *kernel_cmd,
            ]
            cwd = self._folder
        else:
            cwd = self._folder / "work"
            cwd.mkdir()
            for entry in files:
                copy = shutil.copytree if entry.is_dir() else shutil.copy2
                copy(entry, cwd / entry.name)
            env = worker_environment(str(cwd))
            argv = kernel_cmd
        self._cgroup = pids_cgroup()
        memory_mb, cgroup = limits.memory_mb, self._cgroup
        kw.update(
            env=env,
            cwd=str(cwd),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: _launcher_setup(memory_mb, cgroup),
        )
        self.log.info("Starting the kernel sandboxed (%s)", isolation.name)
        await super()._async_launch_kernel(argv, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._cgroup is not None:
            kill_cgroup(self._cgroup)
            remove_cgroup(self._cgroup)
            self._cgroup = None
        if self._folder is not None and not restart:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
