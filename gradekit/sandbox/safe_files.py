"""File operations of the trusted side on folders a student's code could write: never through a
link.

A folder shared with a sandbox (a kernel's socket folder, a worker's folder without bubblewrap)
may hold what the student's code left there: links to anywhere on the host, folders without
permissions. Following a link while deleting or changing permissions would let a submission
delete or change the host's files with the grader's rights. :func:`remove_tree` opens every
folder through a file descriptor with ``O_NOFOLLOW`` (a link is removed, never entered), makes a
folder without permissions deletable through that descriptor, and removes what is inside it
relative to it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

#: Folders nested deeper than this are left in place (a tree built to exhaust the grader's file
#: descriptors or stack).
MAX_DEPTH = 256
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: Path | str) -> bool:
    """Delete ``path`` and everything in it without following any link.

    A link at ``path`` itself is removed, not what it points to.

    Returns:
        Whether nothing is left at ``path``.
    """
    path = os.fspath(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    if not stat.S_ISDIR(info.st_mode):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return not os.path.lexists(path)
    parent = os.open(os.path.dirname(os.path.abspath(path)) or "/", _DIRECTORY)
    try:
        _remove_entry(parent, os.path.basename(os.path.abspath(path)), 0)
    finally:
        os.close(parent)
    return not os.path.lexists(path)


def _remove_entry(parent: int, name: str, depth: int) -> None:
    """Remove ``name`` in the folder open as ``parent`` (a folder: after emptying it)."""
    try:
        info = os.lstat(name, dir_fd=parent)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=parent)
        return
    if depth >= MAX_DEPTH:
        return
    _make_writable(parent, name)
    try:
        folder = os.open(name, _DIRECTORY, dir_fd=parent)
    except OSError:
        return  # replaced by a link or a file meanwhile, or still not readable: left in place
    try:
        for entry in os.listdir(folder):
            _remove_entry(folder, entry, depth + 1)
    finally:
        os.close(folder)
    with contextlib.suppress(OSError):
        os.rmdir(name, dir_fd=parent)


def _make_writable(parent: int, name: str) -> None:
    """Give the folder ``name`` (never what a link points to) owner permissions.

    ``O_PATH | O_NOFOLLOW`` opens the entry itself whatever its permissions; changing the mode
    through ``/proc/self/fd`` reaches exactly that inode (Linux has no ``lchmod``).
    """
    try:
        handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    except OSError:
        return
    try:
        if stat.S_ISDIR(os.fstat(handle).st_mode):
            with contextlib.suppress(OSError):
                os.chmod(f"/proc/self/fd/{handle}", 0o700)
    finally:
        os.close(handle)
