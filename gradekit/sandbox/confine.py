"""One student's process, confined inside the fork server's sandbox in namespaces of its own.

The fork server (:mod:`gradekit.sandbox.zygote`) and every process it forks share one bubblewrap
sandbox and one uid. Without more, a student's process could ptrace the fork server, write its
memory through ``/proc``, signal it, or leave a process or a file behind for the next student.
:func:`fork_confined` forks a process that cannot, whatever this kernel's Yama setting:

- **Its own user, PID, mount and IPC namespaces.** It sees no process but its own
  (``/proc`` is an empty read-only folder, so no pid of the fork server can be named or opened),
  it cannot signal or ptrace anything outside, and when its namespace's first process ends the
  kernel kills every process the student started: nothing survives into the next student's turn.
- **Fresh, private writable places.** Its home (``SANDBOX_HOME``) and ``/dev/shm`` are new
  memory-backed folders that vanish with it; the rest of the file system is read-only, so
  nothing it writes is seen by the next student.
- **Only its own shared folders.** A kernel needs two host folders (its files and its sockets);
  the folders of other kernels are hidden under empty read-only mounts.
- **No capabilities, no new privileges**, and the processes that keep the namespace (its keeper
  outside, its init inside) are not dumpable, so student code cannot ptrace them either.

Layout of one confined process (three forks)::

    fork server ── keeper (outside the new PID namespace; forwards signals, reports the exit)
                     └── init (PID 1 inside: mounts, then reaps; its end kills the namespace)
                           └── student process (no capabilities: runs the worker or the kernel)

The fork server kills a student by killing the keeper: the init dies with it (parent-death
signal) and the kernel kills the rest of the namespace. The exit code of the student's process is
the keeper's (a signal ``s`` as ``128 + s`` inside, re-raised by the keeper).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Namespaces a confined process gets (``linux/sched.h``).
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
#: Not a network namespace: one costs about 30 ms to create and tear down, and the sandbox's own
#: network namespace (no interface but loopback) holds nothing of anyone else while a student's
#: process runs, since the fork server kills the previous one first. System V IPC objects outlive
#: their creator, hence a namespace of its own for them.
NAMESPACES = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC

# mount(2) flags (``linux/mount.h``).
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
#: What the sandbox's mounts carry and a remount must keep (they are locked in a nested
#: namespace: dropping one of them makes the remount fail).
_LOCKED = MS_NOSUID | MS_NODEV | MS_RELATIME

# prctl(2) options.
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
_LAST_CAPABILITY = 63
_CAPABILITY_VERSION_3 = 0x20080522

#: Exit code of a keeper or init whose setup failed (the fork server reports it as such).
SETUP_FAILED = 121
#: Signals the keeper and the init pass on to the student's process group.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
#: Size of a confined process's private home and ``/dev/shm``.
PRIVATE_TMPFS = "size=512m,mode=755"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong]
_libc.mount.argtypes += [ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.prctl.argtypes += [ctypes.c_ulong]


@dataclass(frozen=True)
class Layout:
    """What a confined process sees of the sandbox's file system.

    Attributes:
        home: Its home and working folder: a fresh, private, writable folder.
        shared: Folders of the host it keeps, as ``(path, writable)`` (a kernel's files and
            sockets); every other entry of their parent folders is hidden.
        visible_proc: Files of ``/proc`` that say nothing about any process (``cpuinfo``) and
            that libraries read at start; everything else of ``/proc`` is hidden.
        sealed_when_started: Shared folders made read-only once the process calls
            :func:`started` (a kernel's socket folder, after it has created its sockets and
            before it runs any of the student's code).
    """

    home: str
    shared: tuple[tuple[str, bool], ...] = ()
    visible_proc: tuple[str, ...] = ("cpuinfo", "meminfo")
    sealed_when_started: tuple[str, ...] = ()


def available() -> bool:
    """Whether this process can create the namespaces (it must be single-threaded to try: the
    probe runs in a forked child)."""
    pid = os.fork()
    if pid == 0:
        code = 0 if _libc.unshare(NAMESPACES) == 0 else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def not_dumpable() -> None:
    """Make this process undumpable: a process of the same uid cannot ptrace it or open its
    memory, unless it holds CAP_SYS_PTRACE in this process's user namespace."""
    _prctl(PR_SET_DUMPABLE, 0)


def fork_confined(layout: Layout, keep_fds: Sequence[int] = ()) -> int:
    """Fork a process confined as the module's docstring says.

    Args:
        layout: Its home and the host folders it keeps.
        keep_fds: File descriptors it keeps (all others are closed).

    Returns:
        0 in the confined process (which then runs the student's code and must end with
        ``os._exit``); in the caller, the keeper's pid: signal or kill that process to signal
        or kill the student's.
    """
    keeper = os.fork()
    if keeper:
        return keeper
    try:
        _become_keeper()
        init = os.fork()
        if init:
            _keep(init)  # never returns
        _become_init(layout, keep_fds)
        ready, tell_ready = os.pipe()
        sealed, tell_sealed = os.pipe()
        student = os.fork()
        if student:
            os.close(tell_ready)
            os.close(sealed)
            _seal(layout.sealed_when_started, ready, tell_sealed)
            _reap(student)  # never returns
        os.close(ready)
        os.close(tell_sealed)
        _STARTED[:] = [tell_ready, sealed]
        _become_student(layout)
    except BaseException:
        os._exit(SETUP_FAILED)
    return 0


def _become_keeper() -> None:
    """The keeper: dies with the fork server, not dumpable, enters the new namespaces."""
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(SETUP_FAILED)
    os.setsid()  # the fork server signals the keeper's process group: the keeper alone
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(NAMESPACES), "unshare")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _prctl(PR_SET_DUMPABLE, 0)  # after the maps: a non-dumpable process's /proc is root's


def _keep(init: int) -> None:
    """The keeper's life: pass signals on to the init, end as the student's process ended."""
    _forward_signals(lambda signum: os.kill(init, signum))
    while True:
        with contextlib.suppress(ChildProcessError, InterruptedError):
            _, status = os.waitpid(init, 0)
            break
    code = os.waitstatus_to_exitcode(status)
    if code > 128 and code - 128 < signal.NSIG:  # the student's process died of a signal
        signum = code - 128
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    os._exit(code if code >= 0 else 128 - code)


def _become_init(layout: Layout, keep_fds: Sequence[int]) -> None:
    """PID 1 of the namespace: dies with the keeper, sets up the private file system."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(PR_SET_DUMPABLE, 0)
    os.setsid()
    _close_all_but(keep_fds)
    os.chdir("/")  # a working folder under what gets mounted over would stay reachable
    _private_file_system(layout)


#: In a confined process: the pipes to its init for :func:`started`.
_STARTED: list[int] = []


def started() -> None:
    """Tell the init that the process is ready: the folders of ``sealed_when_started`` become
    read-only before this returns (nothing happens outside a confined process, or the second
    time)."""
    if not _STARTED:
        return
    tell_ready, sealed = _STARTED
    _STARTED.clear()
    os.write(tell_ready, b"1")
    os.read(sealed, 1)
    os.close(tell_ready)
    os.close(sealed)


def _seal(paths: Sequence[str], ready: int, tell_sealed: int) -> None:
    """In the init: once the student's process is ready (or gone), make ``paths`` read-only."""
    if paths:
        while True:
            try:
                os.read(ready, 1)
                break
            except InterruptedError:
                continue
        for path in paths:
            with contextlib.suppress(OSError):
                _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _LOCKED)
    os.close(ready)
    with contextlib.suppress(OSError):
        os.write(tell_sealed, b"1")
    os.close(tell_sealed)


def _reap(student: int) -> None:
    """The init's life: reap every orphan; end with the student's process, which makes the
    kernel kill whatever else the student started."""
    _forward_signals(lambda signum: _signal_group(student, signum))
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == student:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _become_student(layout: Layout) -> None:
    """The student's process: its own session, its home, no capabilities ever again."""
    for signum in FORWARDED:
        signal.signal(signum, signal.SIG_DFL)
    os.setsid()
    os.chdir(layout.home)
    _drop_capabilities()


def _private_file_system(layout: Layout) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # A fresh /dev/shm first: the shared folders wait there while their parents are hidden.
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    parked = []
    for index, (path, writable) in enumerate(layout.shared):
        spot = f"/dev/shm/.shared-{index}"
        os.mkdir(spot)
        _mount(path, spot, None, MS_BIND | MS_REC)
        parked.append((spot, path, writable))
    parents = sorted({str(Path(path).parent) for path, _ in layout.shared})
    for parent in parents:
        _mount("tmpfs", parent, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
    for spot, path, writable in parked:
        os.mkdir(path)
        _mount(spot, path, None, MS_MOVE)
        os.rmdir(spot)
        if not writable:
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _LOCKED)
    for parent in parents:
        _mount(None, parent, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _hide_proc(layout.visible_proc)
    _mount("tmpfs", layout.home, "tmpfs", MS_NOSUID | MS_NODEV, PRIVATE_TMPFS)
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | _LOCKED)
    with contextlib.suppress(OSError):  # only if the sandbox has a /dev of its own
        _mount(None, "/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | _LOCKED)


def _hide_proc(visible: Sequence[str]) -> None:
    """An empty read-only ``/proc`` with a few files that describe the machine, not processes."""
    kept = []
    for name in visible:
        source = f"/proc/{name}"
        if os.path.isfile(source):
            spot = f"/dev/shm/proc-{name}"
            Path(spot).touch()
            _mount(source, spot, None, MS_BIND)
            kept.append((spot, name))
    _mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=755")
    for spot, name in kept:
        Path(f"/proc/{name}").touch()
        _mount(spot, f"/proc/{name}", None, MS_MOVE)
        os.unlink(spot)
    _mount(None, "/proc", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _drop_capabilities() -> None:
    """No capability in the student's namespace, and none to be had by executing a program."""
    for capability in range(_LAST_CAPABILITY + 1):
        if _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def _forward_signals(send: object) -> None:
    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            send(signum)  # type: ignore[operator]

    for signum in FORWARDED:
        signal.signal(signum, forward)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        os.kill(pid, signum)


def _close_all_but(keep: Sequence[int]) -> None:
    start = 3
    for fd in sorted(set(keep)):
        if fd >= start:
            os.closerange(start, fd)
            start = fd + 1
    os.closerange(start, 1 << 16)


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    result = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    )
    _check(result, f"mount {target}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, value, 0, 0, 0), f"prctl {option}")


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")
