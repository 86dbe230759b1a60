"""Versions of a student's notebooks: the one in ``submitted/`` and the others in the history.

:func:`file_versions` decides, for one student, which of the incoming versions of each notebook
is filed and which are kept in the history (see :mod:`gradekit.term.collect` for the rules), then
writes them: every version leaving ``submitted/`` is copied into the history before its
replacement is moved in, and ``record.json`` in the history folder records the time and origin
of every filed and kept version.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nbgrader.coursedir import CourseDirectory

RECORD = "record.json"
TIMESTAMP = "timestamp.txt"
#: How a time is written into a history file's name.
TIME_FORMAT = "%Y-%m-%dT%H-%M-%S"


class RecordError(ValueError):
    """A history folder's record cannot be read."""


@dataclass(frozen=True)
class Version:
    """One submitted version of a notebook of a student.

    Attributes:
        student: The nbgrader student id.
        notebook: The assignment's notebook file name it is (or was) filed as.
        sha256: Its content's digest.
        time: Its submission time (naive).
        time_from: Where the time comes from: "file name", "zip entry", "timestamp.txt" or
            "file time".
        sequence: The LMS's upload number (orders versions of the same time).
        late: Whether the LMS marked it late.
        origin: Where it came from: ``<download>:<entry>`` (and how its name was matched), or
            ``submitted/`` for a file that was there without a record.
    """

    student: str
    notebook: str
    sha256: str
    time: datetime
    time_from: str
    sequence: int = 0
    late: bool = False
    origin: str = ""

    def as_record(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "sha256": self.sha256,
            "time": self.time.isoformat(),
            "time_from": self.time_from,
            "sequence": self.sequence,
            "late": self.late,
            "origin": self.origin,
        }

    @classmethod
    def from_record(cls, student: str, data: dict[str, Any]) -> Version:
        return cls(
            student=student,
            notebook=data["notebook"],
            sha256=data["sha256"],
            time=datetime.fromisoformat(data["time"]),
            time_from=data["time_from"],
            sequence=int(data.get("sequence", 0)),
            late=bool(data.get("late", False)),
            origin=data.get("origin", ""),
        )


@dataclass(frozen=True)
class Incoming:
    """A version found in a download, and how to read its content."""

    version: Version
    read: Callable[[], bytes]


@dataclass(frozen=True)
class Filed:
    """A version now in ``submitted/``; ``replaced``: where the version it replaced was kept."""

    version: Version
    replaced: Path | None = None


@dataclass(frozen=True)
class Kept:
    """A version put into the history (``path``), and why."""

    version: Version
    path: Path
    reason: str


@dataclass(frozen=True)
class Unchanged:
    """An incoming version that changed nothing, and why."""

    version: Version
    reason: str


@dataclass(frozen=True)
class Outcome:
    """What filing one student's incoming versions did."""

    filed: list[Filed]
    kept: list[Kept]
    unchanged: list[Unchanged]


def file_versions(
    *,
    coursedir: CourseDirectory,
    student: str,
    submitted: Path,
    history: Path,
    incoming: Sequence[Incoming],
) -> Outcome:
    """File one student's incoming versions: the newest of each notebook into ``submitted``,
    every other version (and every version it replaces) into ``history``.

    Args:
        coursedir: nbgrader's course directory (it reads ``timestamp.txt``).
        student: The student's id.
        submitted: The student's ``submitted/<student>/<assignment>`` folder.
        history: The student's history folder for the assignment.
        incoming: The student's versions in the download.
    """
    record = _read_record(history / RECORD)
    in_history = {(e["notebook"], e["sha256"], e["time"]) for e in record["history"]}
    by_notebook: dict[str, list[Incoming]] = defaultdict(list)
    for item in incoming:
        by_notebook[item.version.notebook].append(item)
    filed, kept, unchanged = [], [], []
    for notebook, items in sorted(by_notebook.items()):
        path = submitted / notebook
        entry = record["filed"].get(notebook)
        current = _on_disk(coursedir, student, path, entry) if path.is_file() else None
        newest, older, same = _choose(items, current, in_history)
        unchanged += same
        replaced = None
        if newest is not None and current is not None:
            replaced = _keep(history, current, path.read_bytes(), record)
            kept.append(Kept(current, replaced, f"replaced by {newest.version.origin}"))
        winner = newest.version if newest else current
        for item in older:
            assert winner is not None  # an older version implies a newer one
            reason = f"older than the filed version of {winner.time} ({winner.origin})"
            kept.append(
                Kept(item.version, _keep(history, item.version, item.read(), record), reason)
            )
        if newest is not None:
            _write(path, newest.read(), history)
            record["filed"][notebook] = newest.version.as_record()
            filed.append(Filed(newest.version, replaced))
        if newest is not None or older:
            # After each notebook: a killed import leaves at most this notebook's new files
            # unrecorded (a rerun keeps a second copy of them, never loses one).
            _write(history / RECORD, json.dumps(record, indent=1).encode(), history)
    if filed:
        _update_timestamp(submitted, record, history)
    return Outcome(filed=filed, kept=kept, unchanged=unchanged)


def _choose(
    items: Sequence[Incoming], current: Version | None, in_history: set[tuple[str, str, str]]
) -> tuple[Incoming | None, list[Incoming], list[Unchanged]]:
    """Of a notebook's incoming versions: the one to file (None: the filed one stays), the
    others to keep in the history, and those already filed or kept (``in_history`` grows)."""
    newest: Incoming | None = None
    older: list[Incoming] = []
    unchanged = []
    for item in sorted(items, key=_arrival):
        version = item.version
        key = (version.notebook, version.sha256, version.time.isoformat())
        if current is not None and version.sha256 == current.sha256:
            unchanged.append(Unchanged(version, "the same file is already filed"))
        elif key in in_history:
            unchanged.append(Unchanged(version, "already in the history"))
        else:
            in_history.add(key)
            older += [newest] if newest else []
            newest = item
    if newest is not None and current is not None and not _newer(newest.version, current):
        older.append(newest)
        newest = None
    return newest, older, unchanged


def _arrival(item: Incoming) -> tuple[datetime, int, str]:
    """The order of incoming versions: time, the LMS's upload number, origin."""
    return (item.version.time, item.version.sequence, item.version.origin)


def _newer(version: Version, current: Version) -> bool:
    """Whether ``version`` replaces ``current``: a later time (or upload number at the same
    time); at a tie the filed one stays."""
    return (version.time, version.sequence) > (current.time, current.sequence)


def _read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"filed": {}, "history": []}
    except ValueError as error:
        raise RecordError(
            f"{path} cannot be read ({error}); move it away to start it afresh"
        ) from None
    record.setdefault("filed", {})
    record.setdefault("history", [])
    return record


def _on_disk(
    coursedir: CourseDirectory, student: str, path: Path, entry: dict[str, Any] | None
) -> Version:
    """The version filed at ``path``: as recorded when filed, else dated by nbgrader's
    ``timestamp.txt`` of its folder, else by its modification time."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if entry is not None and entry.get("sha256") == digest:
        return Version.from_record(student, entry)
    stamp = coursedir.get_existing_timestamp(str(path.parent))
    time, time_from = (stamp, TIMESTAMP) if stamp else (_mtime(path), "file time")
    return Version(student, path.name, digest, time, time_from, origin=f"submitted/{path.name}")


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0)


def _keep(history: Path, version: Version, content: bytes, record: dict[str, Any]) -> Path:
    """Write a version into the history folder (never over another file) and record it."""
    stamp = version.time.strftime(TIME_FORMAT)
    target = history / f"{stamp}__{version.notebook}"
    number = 2
    while target.exists():
        target = history / f"{stamp}__{number}__{version.notebook}"
        number += 1
    _write(target, content, history)
    entry = version.as_record() | {"file": target.name, "kept": datetime.now().isoformat()}
    record["history"].append(entry)
    return target


def _write(path: Path, content: bytes, scratch: Path) -> None:
    """Write a file whole or not at all (a partial file in ``scratch``, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch.mkdir(parents=True, exist_ok=True)
    partial = scratch / f".{path.name}.partial"
    partial.write_bytes(content)
    os.replace(partial, path)


def _update_timestamp(submitted: Path, record: dict[str, Any], scratch: Path) -> None:
    """nbgrader's ``timestamp.txt``: the newest submission time the LMS wrote into a filed
    file's name (nbgrader's ``zip_collect`` writes it so); left alone when there is none."""
    times = [
        datetime.fromisoformat(entry["time"])
        for entry in record["filed"].values()
        if entry.get("time_from") == "file name"
    ]
    if not times:
        return
    text = max(times).isoformat(" ")
    path = submitted / TIMESTAMP
    if not path.is_file() or path.read_text(encoding="utf-8").strip() != text:
        _write(path, text.encode(), scratch)
