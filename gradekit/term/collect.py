"""Import an LMS download of submissions into ``submitted/`` without ever losing submitted work.

:func:`collect_download` reads the download's zip files as the chosen LMS names their entries
(:mod:`gradekit.term.lms`), maps each file to a student (through the roster,
:mod:`gradekit.term.roster`) and to one of the assignment's notebooks, and files it
(:mod:`gradekit.term.history`):

- Importing only adds. A file replaces the same notebook of the same student, and only when it
  is newer; every file replaced, and every file older than the one filed, is kept in
  ``submitted_history/<student>/<assignment>/<time>__<notebook>`` (the time as
  ``YYYY-MM-DDTHH-MM-SS``), beside ``submitted/``, with its time and origin in ``record.json``
  there. Of several attempts at one notebook the newest is filed, the others go to the history.
- "Newer" compares submission times: the time the LMS writes into the file name (Blackboard,
  Brightspace, a ``timestamp`` group of the pattern), else the zip entry's date and time (Canvas
  and Moodle write the time of the download there, so a later download is newer than an earlier
  one). At the same time the LMS's upload number decides (Canvas's file id), and a file already
  filed stays. A file already in ``submitted/`` has the time recorded when it was filed; one put
  there otherwise (by hand, ``nbgrader collect``) has nbgrader's ``timestamp.txt`` of its
  folder, else its modification time.
- A file whose content is already filed, or already in the history with the same time, changes
  nothing: importing the same download twice changes nothing.
- Where the LMS writes submission times into the file names, ``timestamp.txt`` (nbgrader's record
  of when a submission was made) gets the newest of the filed notebooks' times.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from gradekit.nbgrader.course import Course
from gradekit.term.history import (
    Filed,
    Incoming,
    Kept,
    RecordError,
    Unchanged,
    Version,
    file_versions,
)
from gradekit.term.lms import LmsFile, LmsPreset, PresetError, match_notebook, preset
from gradekit.term.roster import Roster, RosterError

#: The roster read when none is given (in the course folder), if it exists.
DEFAULT_ROSTER = "roster.csv"
#: Entries bigger than this are not read (a notebook is far smaller; a zip bomb is not).
MAX_ENTRY_MB = 256


class CollectUsageError(ValueError):
    """Something given to collect cannot be used (a missing zip, an unknown LMS, a bad roster);
    the message is one line for the instructor."""


class CollectFailed(RuntimeError):
    """The course's state stops the import (an unreadable history record)."""


@dataclass(frozen=True)
class Skipped:
    """A file of the download that was not filed (``origin``: ``<download>:<entry>``), and why."""

    origin: str
    reason: str


@dataclass
class CollectResult:
    """What importing a download did.

    Attributes:
        lms: The preset used.
        roster: The roster file used, or None (then the LMS's id is the student id).
        filed: Versions now in ``submitted/``.
        kept: Versions put into the history.
        unchanged: Versions already filed or already in the history.
        skipped: Files not attributed to a student's notebook: not notebooks, not of the LMS's
            naming, no notebook of the assignment.
        unknown: Files whose student the roster does not know, by the LMS's id (or name).
        matched: How many files were attributed to a student and a notebook.
    """

    lms: LmsPreset
    roster: Path | None
    filed: list[Filed] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    unchanged: list[Unchanged] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unknown: dict[str, list[Skipped]] = field(default_factory=dict)
    matched: int = 0


def collect_download(
    *,
    course: Course,
    assignment: str,
    downloads: Sequence[Path],
    lms: str = "regex",
    roster: Path | None = None,
) -> CollectResult:
    """File an LMS download's notebooks under ``submitted/<student>/<assignment>/``.

    Args:
        course: The course.
        assignment: The assignment the download is of.
        downloads: The LMS's zip files (read together: attempts in several are ordered by time).
        lms: One of :data:`gradekit.term.lms.PRESET_NAMES`.
        roster: The roster CSV file; None reads ``roster.csv`` of the course if there is one.

    Returns:
        What was filed, kept in the history, left unchanged or skipped, and whose files have no
        known student.

    Raises:
        CollectUsageError: If a download is missing or not a zip file, the LMS is unknown, its
            pattern or the roster is unusable, or the LMS needs a roster and there is none.
        CollectFailed: If a student's history record cannot be read.
    """
    named_regexp = course.config.get("FileNameCollectorPlugin", {}).get("named_regexp", "")
    try:
        chosen = preset(lms, named_regexp=named_regexp)
    except PresetError as error:
        raise CollectUsageError(str(error)) from None
    for path in downloads:
        if not path.is_file():
            raise CollectUsageError(f"no such file: {path}")
        if not zipfile.is_zipfile(path):
            raise CollectUsageError(f"not a zip file: {path} (give the LMS's download as it is)")
    known = _roster(course, roster, chosen)
    notebooks = _assignment_notebooks(course, assignment)
    result = CollectResult(lms=chosen, roster=known.path if known else None)
    by_student: dict[str, list[Incoming]] = defaultdict(list)
    for item in _read_downloads(downloads, chosen, known, notebooks, result):
        by_student[item.version.student].append(item)
    result.matched = sum(len(items) for items in by_student.values())
    for student, items in sorted(by_student.items()):
        try:
            outcome = file_versions(
                coursedir=course.coursedir,
                student=student,
                submitted=course.path("submitted", assignment=assignment, student=student),
                history=history_folder(course, assignment, student),
                incoming=items,
            )
        except RecordError as error:
            raise CollectFailed(str(error)) from None
        result.filed += outcome.filed
        result.kept += outcome.kept
        result.unchanged += outcome.unchanged
    return result


def report_lines(result: CollectResult, *, root: Path, students: Sequence[str]) -> list[str]:
    """What an import did, for the instructor: filed, kept, unchanged, skipped, unknown.

    Args:
        result: The import's result.
        root: The course folder (paths are shown relative to it).
        students: The students who now have a submission.
    """
    lms = result.lms
    if result.roster is None:
        lines = [f"no roster ({DEFAULT_ROSTER}, or --roster): the {lms.id_label} is the student id"]
    else:
        lines = [f"roster: {result.roster}"]
    lines.append(f"filed {_count(len(result.filed), 'notebook')}" + (":" if result.filed else ""))
    for filed in result.filed:
        version = filed.version
        late = ", marked late" if version.late else ""
        lines.append(
            f"  {version.student}  {version.notebook}  {version.time} (time from the "
            f"{version.time_from}{late})  from {version.origin}"
        )
    if result.kept:
        lines.append(f"kept {_count(len(result.kept), 'other version')} in the history:")
    for kept in result.kept:
        version, where = kept.version, kept.path.relative_to(root)
        lines.append(
            f"  {version.student}  {version.notebook}  {version.time}: {kept.reason} -> {where}"
        )
    if result.unchanged:
        lines.append(f"unchanged: {_count(len(result.unchanged), 'file')} already filed or kept")
    if result.skipped:
        lines.append(f"skipped {_count(len(result.skipped), 'file')}:")
    lines += [f"  {skipped.origin}: {skipped.reason}" for skipped in result.skipped]
    if result.unknown:
        files = sum(len(found) for found in result.unknown.values())
        lines.append(
            f"not filed: {_count(files, 'file')} of {_count(len(result.unknown), 'student')} "
            "the roster does not know:"
        )
    for label, found in result.unknown.items():
        lines.append(f"  {label}: {_count(len(found), 'file')}, {found[0].reason}")
    lines.append(f"{_count(len(students), 'student')} with a submission: {', '.join(students)}")
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def history_folder(course: Course, assignment: str, student: str) -> Path:
    """Where the versions of a student's notebooks that are not in ``submitted/`` are kept."""
    submitted = Path(course.root, course.coursedir.submitted_directory)
    return submitted.with_name(f"{submitted.name}_history") / student / assignment


def _roster(course: Course, given: Path | None, chosen: LmsPreset) -> Roster | None:
    """The roster given, else the course's ``roster.csv`` if there is one."""
    if given is not None and not given.is_file():
        raise CollectUsageError(f"no such roster: {given}")
    path = given if given is not None else course.root / DEFAULT_ROSTER
    try:
        known = Roster.read(path) if path.is_file() else None
    except RosterError as error:
        raise CollectUsageError(str(error)) from None
    if known is None and chosen.needs_roster:
        raise CollectUsageError(
            f"{chosen.label}'s file names carry no user id, only names: give a roster "
            f"({DEFAULT_ROSTER} in the course folder, or --roster) with the students' names"
        )
    return known


def _assignment_notebooks(course: Course, assignment: str) -> list[str]:
    for step in ("release", "source"):
        names = sorted(p.name for p in course.path(step, assignment=assignment).glob("*.ipynb"))
        if names:
            return names
    raise CollectUsageError(f"{assignment} has no notebooks in release/ or source/")


def _read_downloads(
    downloads: Sequence[Path],
    chosen: LmsPreset,
    known: Roster | None,
    notebooks: list[str],
    result: CollectResult,
) -> list[Incoming]:
    """The download's files that are a known student's notebook; the others go to ``result``."""
    incoming = []
    for archive in downloads:
        with zipfile.ZipFile(archive) as opened:
            for info in opened.infolist():
                if info.is_dir():
                    continue
                entry = _entry_name(info)
                origin = f"{archive.name}:{entry}"
                found = _lms_file(entry, info, archive, chosen, result)
                if found is None:
                    continue
                notebook, how = match_notebook(found.file_name, notebooks)
                if notebook is None:
                    result.skipped.append(Skipped(origin, how))
                    continue
                student = _student(found.lms_ids, found.name, chosen, known, origin, result)
                if not student:
                    continue
                digest = _sha256(opened, info)
                version = Version(
                    student=student,
                    notebook=notebook,
                    sha256=digest,
                    time=found.time or datetime(*info.date_time),
                    time_from="file name" if found.time else "zip entry",
                    sequence=found.sequence,
                    late=found.late,
                    origin=origin if how == "exact" else f"{origin} ({how})",
                )
                incoming.append(Incoming(version, _reader(archive, info.filename)))
    return incoming


def _lms_file(
    entry: str, info: zipfile.ZipInfo, archive: Path, chosen: LmsPreset, result: CollectResult
) -> LmsFile | None:
    """What the LMS's name of an entry says, or None (the reason added to ``result``)."""
    origin = f"{archive.name}:{entry}"
    base = entry.rsplit("/", 1)[-1]
    reason = ""
    if entry.startswith("__MACOSX/") or base.startswith("."):
        reason = "a system file, not a submission"
    elif not base.lower().endswith(".ipynb"):
        reason = "not a notebook"
    elif info.file_size > MAX_ENTRY_MB * 1024 * 1024:
        reason = f"bigger than {MAX_ENTRY_MB} MiB"
    found = None if reason else chosen.parse(entry, archive.stem)
    if found is None:
        reason = reason or f"not of {chosen.label}'s naming {chosen.naming}"
        result.skipped.append(Skipped(origin, reason))
    return found


def _sha256(opened: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with opened.open(info) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _reader(archive: Path, name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(archive) as opened:
            return opened.read(name)

    return read


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name: zip files without the UTF-8 flag (0x800) often still hold UTF-8."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return info.filename


def _student(
    lms_ids: tuple[str, ...],
    name: str,
    chosen: LmsPreset,
    known: Roster | None,
    origin: str,
    result: CollectResult,
) -> str:
    """The student id of a file, or "" (then the file is listed among the unknown students')."""
    label = f"{chosen.id_label} {lms_ids[0]}" if lms_ids else f"{chosen.label} name {name!r}"
    if name and lms_ids:
        label += f" ({name})"
    if known is None:
        student, problem = (lms_ids[0] if lms_ids else ""), "no id in the file name"
    else:
        answer = known.find(lms_ids=lms_ids, name=name, student_id_is_id=chosen.student_id_is_id)
        student, problem = answer.student_id, answer.problem
    if student and not _usable_id(student):
        student, problem = "", f"{student!r} cannot be a folder name under submitted/"
    if not student:
        result.unknown.setdefault(label, []).append(Skipped(origin, problem))
    return student


def _usable_id(student: str) -> bool:
    return bool(student.strip()) and not {"/", "\\"} & set(student) and student[0] != "."
