"""The Jupyter kernel that executes a student's notebook, confined like the grading worker.

``nbgrader autograde`` runs every cell of the submission in a kernel: that is student code too.
:class:`SandboxedKernelManager` forks each kernel from a fork server
(:mod:`gradekit.sandbox.zygote`) that runs under the same isolation as the grading worker
(:func:`gradekit.sandbox.isolation.choose_isolation`) and has already imported ipykernel and the
modules of ``GradeKit.preload``: a kernel is ready in a fraction of a second instead of paying for
importing those libraries in every notebook.

What the kernel sees: no network, no view of the course folder (gradebook, source, graders,
reference, other students), the Python installation read-only, a fresh private home (its working
folder) in which the submission's files (its notebooks, helper modules) appear read-only, a
memory limit and a process limit. Before a kernel starts, every process the previous one left
behind is killed. The kernel talks to nbgrader over Unix sockets (ZeroMQ ``ipc`` transport) in
a throw-away folder, the only thing of the host it can write to.

Under the ``rlimits`` fallback the kernel gets the same fresh home, limits and environment, as a
process of the grading machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from gradekit.nbgrader.course import GradeKit
from gradekit.sandbox.fork_server import Zygote
from gradekit.sandbox.isolation import choose_isolation
from gradekit.sandbox.leftovers import folder_prefix, sweep_once
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.safe_files import remove_tree

#: Modules every kernel imports at start (the fork server imports them once).
KERNEL_MODULES = ("ipykernel.kernelapp",)


class KernelServer:
    """A fork server for kernels, and the two host folders its sandbox shares with the host.

    ``files/<id>`` (read-only in the sandbox) holds a kernel's submission files, ``sockets/<id>``
    its connection file and sockets; both appear at the same paths in the sandbox. ``sockets/`` is
    writable there (a kernel runs as the host's user): whatever a kernel leaves in it is deleted
    before the next kernel starts.
    """

    def __init__(self, limits: Limits):
        sweep_once()
        self.root = Path(tempfile.mkdtemp(prefix=folder_prefix("kernels")))
        self.files = self.root / "files"
        self.sockets = self.root / "sockets"
        for folder in (self.files, self.sockets):
            folder.mkdir()
            folder.chmod(0o755)
        binds = [
            ("--ro-bind", str(self.files), str(self.files)),
            ("--bind", str(self.sockets), str(self.sockets)),
        ]
        isolation = choose_isolation(limits.isolation)
        self.zygote = Zygote(limits, (*limits.preload, *KERNEL_MODULES), binds, isolation=isolation)

    def close(self) -> None:
        self.zygote.close()
        remove_tree(self.root)


class KernelServers:
    """The kernel fork servers of one owner (a runtime), one per limits and thread, closed
    together.

    One per thread: a fork server kills whatever its previous kernel left running, so two
    notebooks executed at once (threads of one Dask worker) must not share one.
    """

    def __init__(self) -> None:
        self._servers: dict[tuple[Limits, int], KernelServer] = {}
        self._lock = threading.Lock()

    def for_this_thread(self, limits: Limits) -> KernelServer:
        """This thread's kernel fork server for ``limits`` (started on first use, replaced if it
        died)."""
        key = (limits, threading.get_ident())
        with self._lock:
            server = self._servers.get(key)
            if server is None or not server.zygote.alive:
                if server is not None:
                    server.close()
                server = self._servers[key] = KernelServer(limits)
            return server

    def close(self) -> None:
        """Stop every fork server and the kernels it started; remove their folders."""
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
        for server in servers:
            server.close()


class ZygoteProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner with the kernel process forked by a
    :class:`KernelServer` instead of started with ``Popen`` (connection file and ports as usual)."""

    server: KernelServer | None = None
    folder_id: str = ""
    max_output: int = 0

    @property
    def has_process(self) -> bool:
        return self.pid is not None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        assert self.server is not None
        submission = Path(kwargs.get("cwd") or Path.cwd())
        files = self.server.files / self.folder_id  # a new id for every start
        files.mkdir()
        _copy_files(submission, files)
        assert self.parent is not None  # the kernel manager, which wrote the connection file
        connection_file = Path(self.parent.connection_file)
        _clear_except(self.server.sockets, connection_file.parent)
        self.pid = self.pgid = self.server.zygote.start_kernel(
            files, connection_file, max_output=self.max_output
        )
        self.cwd = str(files)
        return self.connection_info

    async def poll(self) -> int | None:
        if self.pid is None or self.server is None:
            return 0
        return self.server.zygote.poll(self.pid)

    async def wait(self) -> int | None:
        code = await self.poll()
        while code is None:
            await asyncio.sleep(0.05)
            code = await self.poll()
        self.pid = None
        return code

    async def send_signal(self, signum: int) -> None:
        if self.pid is not None and self.server is not None:
            self.server.zygote.signal(self.pid, signum)

    async def kill(self, restart: bool = False) -> None:
        if self.pid is not None and self.server is not None:
            self.server.zygote.kill(self.pid)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        if self.server is not None:
            self.server.zygote.reset()  # whatever the kernel started dies with it
            remove_tree(self.server.files / self.folder_id)


def _clear_except(folder: Path, keep: Path) -> None:
    """Delete everything in ``folder`` but ``keep`` (what earlier kernels left there)."""
    for entry in folder.iterdir():
        if entry != keep:
            remove_tree(entry)


def _copy_files(submission: Path, target: Path) -> None:
    """Copy the submission folder's files and folders, the notebooks too (a notebook may import
    another's definitions). Links are never followed: one could point anywhere on the host."""
    for entry in submission.iterdir():
        if entry.is_symlink():
            continue
        if entry.is_dir():
            with contextlib.suppress(shutil.Error):  # sockets and the like are left out
                shutil.copytree(entry, target / entry.name, symlinks=True)
        elif entry.is_file():
            shutil.copy2(entry, target / entry.name)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run confined (see the module's docstring).

    Its limits are the grading worker's: ``GradeKit.memory_mb``, ``GradeKit.isolation`` and
    ``GradeKit.preload``. Its stdout and stderr send at most 1 MiB more than
    ``GradeKit.max_output_mb``: enough for nbgrader's side to see that limit crossed (it then drops
    the rest and interrupts the cell), never a message of hundreds of MiB.
    """

    #: The fork servers to start kernels from (:class:`gradekit.nbgrader.sandboxed_execute.
    #: SandboxedExecute` lends its runtime's); a manager lent none starts its own and stops them
    #: with its kernel.
    servers: KernelServers | None = None
    _own_servers: KernelServers | None = None
    _folder: Path | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        settings = GradeKit(config=self.config)
        if self.servers is None:
            self.servers = self._own_servers = KernelServers()
        server = self.servers.for_this_thread(settings.limits())
        if self._folder is not None:  # a restart: the old kernel's sockets are of no use
            remove_tree(self._folder)
        # Short: a Unix socket's path has at most 107 bytes (the server's folder carries its
        # creator's pid and start time, for gradekit.sandbox.leftovers).
        folder_id = uuid.uuid4().hex[:16]
        self._folder = server.sockets / folder_id
        self._folder.mkdir()
        # The kernel (uid nobody in its user namespace) creates its sockets here.
        self._folder.chmod(0o777)
        self.transport = "ipc"
        self.ip = str(self._folder / "kernel")
        self.connection_file = str(self._folder / "connection.json")
        self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
        provisioner = self.provisioner
        if not isinstance(provisioner, ZygoteProvisioner):
            provisioner = self.provisioner = ZygoteProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        provisioner.server = server
        provisioner.folder_id = folder_id
        provisioner.max_output = (settings.max_output_mb + 1) * 1024 * 1024
        self.log.info("Starting the kernel sandboxed (forked from a preloaded kernel)")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._folder is not None and not restart:
            remove_tree(self._folder)
            self._folder = None
        if self._own_servers is not None and not restart:
            self._own_servers.close()
            self.servers = self._own_servers = None
