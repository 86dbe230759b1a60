"""What the kit graded, remembered per student, so that a rerun skips what is unchanged."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

#: Where the kit remembers what it graded (relative to the course root).
STATE_FOLDER = ".gradekit"


class GradingState:
    """What the kit graded, one small JSON file per student, so that a rerun skips it.

    A submission counts as graded when its files and the graders are unchanged since it was
    stored (a grades-only run does not count for a full run).

    Args:
        folder: Where the files go (``.gradekit/<assignment>`` in the course).
        graders: :func:`gradekit.batch.job.suite_digest` of the current graders.
    """

    def __init__(self, folder: Path, graders: str):
        self.folder = folder
        self.graders = graders

    def is_current(self, student: str, submitted: Path, grades_only: bool) -> bool:
        try:
            saved = json.loads((self.folder / f"{student}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return (
            saved.get("submission") == files_digest(submitted)
            and saved.get("graders") == self.graders
            and (grades_only or not saved.get("grades_only"))
        )

    def remember(self, student: str, submitted: Path, grades_only: bool) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {
            "submission": files_digest(submitted),
            "graders": self.graders,
            "grades_only": grades_only,
            "stored": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        path = self.folder / f"{student}.json"
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(record), encoding="utf-8")
        partial.replace(path)  # atomic: a kill leaves the old record or the new one


def files_digest(folder: Path) -> str:
    """A digest of every file in ``folder`` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()
