"""gradekit.sandbox.confine (through the fork server): one student's process cannot reach the fork
server, another student's process or anything the previous student left behind."""

from __future__ import annotations

import subprocess
import textwrap
import time

import pytest

from gradekit.sandbox.fork_server import Zygote
from gradekit.sandbox.isolation import choose_isolation
from gradekit.sandbox.limits import Limits

pytestmark = pytest.mark.skipif(
    choose_isolation().name != "bubblewrap", reason="namespaces need bubblewrap"
)

LIMITS = Limits(call_timeout=10, load_timeout=60, memory_mb=1024, preload=("numpy",))

#: Run in the student's process: every way it could find or touch another process.
PROBE = textwrap.dedent(
    """
    import ctypes, os, signal
    libc = ctypes.CDLL(None, use_errno=True)

    def visible_pids():
        found = []
        for pid in range(1, 300):
            try:
                os.kill(pid, 0)
                found.append(pid)
            except ProcessLookupError:
                pass
            except PermissionError:
                found.append(pid)
        return found

    def ptrace_any(pids):
        attached = []
        for pid in pids:
            if pid != os.getpid() and libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
                attached.append(pid)
        return attached

    def writable(path):
        try:
            with open(path, "w") as handle:
                handle.write("left for the next student")
            return True
        except OSError:
            return False

    def umount_proc():
        libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        return libc.umount2(b"/proc", 2) == 0

    PIDS = visible_pids()
    ATTACHED = ptrace_any(PIDS)
    PROC = sorted(os.listdir("/proc"))
    WROTE = {path: writable(path) for path in ("/left.txt", "/dev/left.txt", "/dev/shm/left.txt",
                                                 "/sandbox/left.txt", "/usr/left.txt")}
    UNMOUNTED = umount_proc()
    ME = os.getpid()
    """
)

#: Leaves a process running and files behind (the next student must find neither).
LEAVE = textwrap.dedent(
    """
    import os, subprocess, sys
    open("/sandbox/left.txt", "w").write("x")
    open("/dev/shm/left.txt", "w").write("x")
    LEFT = subprocess.Popen([sys.executable, "-c",
                             "import time; time.sleep(600)  # gradekit-confine-leftover"],
                            start_new_session=True).pid
    """
)

LOOK = textwrap.dedent(
    """
    import os
    SEEN = sorted(os.listdir("/sandbox")) + sorted(os.listdir("/dev/shm"))
    """
)


@pytest.fixture(scope="module")
def zygote():
    server = Zygote(LIMITS, LIMITS.preload, isolation=choose_isolation("bubblewrap"))
    yield server
    server.close()


def load(zygote, source: str) -> object:
    channel = zygote.spawn()
    reply = channel.request({"op": "load", "cells": [{"key": "cell 1", "source": source}]}, 60)
    assert not reply["value"][0]["__dict__"][1][1], f"the probe failed: {reply}"
    return channel


def value(channel, name: str):
    from gradekit.sandbox import wire

    return wire.decode(channel.request({"op": "get", "target": {"name": name}}, 10)["value"])


def test_the_student_sees_only_its_own_process(zygote):
    channel = load(zygote, PROBE)
    assert value(channel, "ME") == 2, "the student's process is not alone in a PID namespace"
    assert set(value(channel, "PIDS")) <= {1, 2}, "the student's process can name other pids"
    assert value(channel, "ATTACHED") == [], "the student's process could ptrace another"
    assert value(channel, "PROC") == ["cpuinfo", "meminfo"], "/proc shows processes"
    assert not value(channel, "UNMOUNTED"), "the student's process could unmount /proc"
    channel.close()


def test_only_its_private_home_and_shm_are_writable(zygote):
    channel = load(zygote, PROBE)
    assert value(channel, "WROTE") == {
        "/left.txt": False,
        "/dev/left.txt": False,
        "/dev/shm/left.txt": True,
        "/sandbox/left.txt": True,
        "/usr/left.txt": False,
    }
    channel.close()


def test_nothing_of_one_student_is_left_for_the_next(zygote):
    first = load(zygote, LEAVE)
    assert value(first, "LEFT") > 0
    first.close()
    second = load(zygote, LOOK)
    assert value(second, "SEEN") == [], "the next student found the previous student's files"
    second.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _leftovers():
        time.sleep(0.1)
    assert not _leftovers(), "a process the previous student started is still running"


def _leftovers() -> list[str]:
    listing = subprocess.run(
        ["ps", "-eww", "-o", "args"], capture_output=True, text=True, check=True
    )
    return [line for line in listing.stdout.splitlines() if "gradekit-confine-leftover" in line]


def test_killing_the_student_kills_what_it_started(zygote):
    channel = load(zygote, LEAVE)
    assert _leftovers(), "the probe's process did not start"
    channel.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _leftovers():
        time.sleep(0.1)
    assert not _leftovers()
