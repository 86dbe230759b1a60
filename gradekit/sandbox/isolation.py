"""How processes that run student code are confined: bubblewrap, or resource limits only.

:func:`choose_isolation` probes the strongest isolation the machine allows;
:class:`Isolation` wraps a command in it (:func:`bubblewrap_arguments`: namespaces, a read-only
system, a private home); :func:`worker_environment` is the whole environment a sandbox gets, and
:func:`blocked_packages` the mounts that make a package absent from one.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gradekit.sandbox.zygote import KIT_MOUNT

#: The kit's package folder (``gradekit/``), mounted read-only at ``KIT_MOUNT`` in the sandbox.
KIT_PACKAGE = Path(__file__).resolve().parents[1]
#: The sandbox's private working folder (the kit's own package is at ``KIT_MOUNT``, read-only).
SANDBOX_HOME = "/sandbox"
#: Size of the sandbox's private, memory-backed working folder.
SANDBOX_TMPFS_BYTES = 512 * 1024 * 1024

log = logging.getLogger("gradekit.sandbox.isolation")


@dataclass(frozen=True)
class Isolation:
    """How processes that run student code are confined.

    Attributes:
        name: ``bubblewrap`` (namespaces, nothing of the host but the Python installation
            visible, read-only) or ``rlimits`` (resource limits only: the fallback).
        description: One line for the log.
    """

    name: str
    description: str

    def command(
        self, argv: list[str], env: dict[str, str], binds: Sequence[tuple[str, str, str]] = ()
    ) -> list[str]:
        """``argv`` wrapped so that it runs confined (with exactly ``env`` as environment and
        the extra mounts ``binds``, see :func:`bubblewrap_arguments`)."""
        if self.name != "bubblewrap":
            return argv
        return [*bubblewrap_arguments(env, binds=binds), "--", *argv]


def bubblewrap_arguments(
    env: dict[str, str],
    *,
    binds: Sequence[tuple[str, str, str]] = (),
    kit: bool = True,
    new_session: bool = True,
) -> list[str]:
    """bwrap options: new namespaces (no network, own PIDs), unprivileged uid, read-only system
    and Python installation, a private tmpfs as home.

    Args:
        env: The sandbox's whole environment.
        binds: Extra ``(option, source, target)`` mounts after the home tmpfs, e.g.
            ``("--ro-bind", "/x/helpers.py", "/sandbox/helpers.py")``.
        kit: Make the kit's package visible at :data:`KIT_MOUNT` (the grading worker needs it).
        new_session: Start a new terminal session (off for a Jupyter kernel, which must stay in
            its launcher's process group so that interrupts reach it; the launcher already has
            no controlling terminal).
    """
    args = ["bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534"]
    args += ["--die-with-parent", "--proc", "/proc", "--dev", "/dev"]
    if new_session:
        args.append("--new-session")
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for prefix in sorted(
        {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent.parent)}
    ):
        if not prefix.startswith("/usr"):
            args += ["--ro-bind", prefix, prefix]
    if kit:
        args += ["--ro-bind", str(KIT_PACKAGE), f"{KIT_MOUNT}/gradekit"]
    args += ["--size", str(SANDBOX_TMPFS_BYTES), "--tmpfs", SANDBOX_HOME]
    for option, source, target in binds:
        args += [option, source, target]
    args += ["--chdir", SANDBOX_HOME, "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


def choose_isolation(preference: str = "auto") -> Isolation:
    """The strongest isolation this machine allows (probed at every call, and logged: a
    :class:`gradekit.sandbox.workers.WorkerPool` asks once).

    Args:
        preference: ``auto``, ``bubblewrap`` (fail if unavailable) or ``rlimits``.
    """
    if preference in ("auto", "bubblewrap") and shutil.which("bwrap"):
        probe = [*bubblewrap_arguments({}), "--", sys.executable, "-I", "-c", "pass"]
        result = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode == 0:
            isolation = Isolation(
                "bubblewrap",
                "student code runs under bubblewrap: no network, own PID namespace, uid nobody, "
                "read-only system, private tmpfs; memory, time and process limits",
            )
            log.info("sandbox: %s", isolation.description)
            return isolation
        log.warning(
            "bubblewrap is installed but does not work here: %s", result.stderr.strip()[-300:]
        )
    if preference == "bubblewrap":
        raise RuntimeError("bubblewrap isolation was required but is not available")
    isolation = Isolation(
        "rlimits",
        "student code runs as a separate process with memory, time and process limits only "
        "(install bubblewrap for namespaces: no network, no view of the host's files)",
    )
    log.warning("sandbox: %s", isolation.description)
    return isolation


def worker_environment(home: str) -> dict[str, str]:
    """A minimal environment: no secrets of the grader's shell leak into student code."""
    return {
        "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "MPLCONFIGDIR": home,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    } | {
        key: os.environ[key]
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
        if key in os.environ
    }


def blocked_packages(packages: Sequence[str], folder: Path) -> list[tuple[str, str, str]]:
    """Mounts that put, over each installed package's folder, one whose import fails."""
    binds = []
    for name in packages:
        installed = _package_folder(name)
        if installed is None:
            continue
        blocker = folder / name
        blocker.mkdir(parents=True)
        (blocker / "__init__.py").write_text(
            f"raise ModuleNotFoundError({_ABSENT.format(name=name)!r}, name={name!r})\n"
        )
        binds.append(("--ro-bind", str(blocker), str(installed)))
    return binds


#: The message of importing a package absent from a sandbox.
_ABSENT = "No module named '{name}' (not available where this item is graded)"


def _package_folder(name: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()
