"""JupyterLab for a course: nbgrader's formgrader and Validate button, on this machine only.

``gradekit lab`` (what ``make lab`` runs; also ``python -m gradekit.cli.lab``) starts
``jupyter lab`` in the course folder, so that the formgrader and the Validate button read the
course's ``nbgrader_config.py`` (nbgrader's server extensions load it from the server's working
folder), listening on 127.0.0.1 with a token, and prints the addresses of Lab and of the
formgrader. The end-to-end tests start their server with the same :func:`lab_command`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from gradekit.nbgrader.course import Course

DEFAULT_PORT = 8888


def lab_command(root: Path, *, port: int, token: str) -> list[str]:
    """The ``jupyter lab`` command line serving ``root`` on ``127.0.0.1:port``.

    Args:
        root: The course folder (the one with ``nbgrader_config.py``); also the file browser's root.
        port: The port; the server fails instead of moving to another one when it is taken.
        token: The token a browser needs (in the URL, ``?token=...``).

    Returns:
        The arguments, starting with the ``jupyter`` executable next to this Python.
    """
    jupyter = Path(sys.executable).with_name("jupyter")
    # Jupyter refuses to run as root unless told; containers and CI run as root.
    as_root = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []
    return [
        str(jupyter),
        "lab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        # No calls out to the internet for announcements or new versions.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *as_root,
    ]


def lab_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with this Python's ``bin`` first on PATH.

    nbgrader runs helper commands (``alembic``) by name, and the kernels Lab starts must be this
    environment's.
    """
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def serve(*, course: Course, port: int = DEFAULT_PORT, token: str | None = None) -> int:
    """Replace this process with ``jupyter lab`` serving the course (``gradekit lab``)."""
    token = token or os.environ.get("LAB_TOKEN") or secrets.token_hex(24)
    base = f"http://127.0.0.1:{port}"
    print(f"JupyterLab for course {course.coursedir.course_id!r} in {course.root}", flush=True)
    print(f"  Lab:        {base}/lab?token={token}", flush=True)
    print(f"  Formgrader: {base}/formgrader?token={token}", flush=True)
    print(f"  token:      {token}", flush=True)
    command = lab_command(course.root, port=port, token=token)
    os.chdir(course.root)
    os.execve(command[0], command, lab_environment())
    return 0  # not reached: execve replaces this process


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gradekit.cli.lab", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--course", type=Path, default=None, help="course folder (default: here)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1")
    parser.add_argument(
        "--token", default=os.environ.get("LAB_TOKEN") or None, help="default: $LAB_TOKEN or random"
    )
    args = parser.parse_args(argv)
    return serve(course=Course.find(args.course), port=args.port, token=args.token)


if __name__ == "__main__":
    raise SystemExit(main())
