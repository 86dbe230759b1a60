"""How learning management systems name the files of a bulk download of submissions.

``gradekit collect --lms NAME`` reads each zip entry's path with one of these presets: who
submitted the file (the LMS's user ids and/or the student's name), the student's own file name,
the submission time where the LMS writes one into the name, and whether the LMS marked the file
late. Where the naming was taken from:

- **Canvas**: ``ContentZipper#get_filename`` and ``#add_upload_submission`` in Canvas's source
  (``lib/content_zipper.rb`` of instructure/canvas-lms): a flat zip of
  ``<sortable name>_[LATE_]<user id>_<file id>_<file name>``, the sortable name ("Doe, Jane")
  lower-cased without non-word characters (``doejane``); with anonymous grading
  ``[LATE_]anon_<anonymous id>_<file id>_<file name>``. Older releases lower-cased the whole
  prefix (``late``). A file name that exists already gets ``-1``, ``-2``, … before its extension
  (``Attachment.make_unique_filename``, ``app/models/attachment.rb``). No time.
- **Moodle**: ``mod_assign\\downloader`` in Moodle's source (``mod/assign/classes/downloader.php``
  of moodle/moodle): with "Download submissions in folders" (the default since 3.1) a folder
  ``<Full Name>_<participant id>_assignsubmission_file`` per student (older releases end it with
  ``_``), else flat files ``<Full Name>_<participant id>_assignsubmission_file_<file name>``.
  Underscores of the full name become spaces; the participant id is the per-assignment id of the
  grading worksheet's "Identifier" column ("Participant 1234567"). No time.
- **Blackboard Learn** (Original course view, Grade Center "Assignment File Download"):
  ``<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name>``, plus a
  ``<assignment>_<username>_attempt_<time>.txt`` receipt per attempt (nbgrader's own
  ``FileNameCollectorPlugin.named_regexp`` help uses this example; Blackboard's own help has no
  stored copy, so the pattern was checked against tools that parse these downloads, e.g.
  kwurst/bb-file-cleanup). The time is the attempt's.
- **Brightspace (D2L)**: an ``index.html`` and, per submission, a folder
  ``<number>-<number> - <First Last> - <Mon D, YYYY HMM AM>`` (older releases: flat files with
  `` - <file name>`` appended to that). Taken from tools that parse these downloads (Brightspace's
  documentation has no stored copy); the names carry no user id, so a roster is needed. The time
  is the submission's.
- **regex**: nbgrader's ``c.FileNameCollectorPlugin.named_regexp`` with its groups
  ``student_id``, ``file_id`` and optionally ``timestamp``, ``first_name``, ``last_name``,
  matched (as nbgrader's ``zip_collect`` does) at the start of ``<download name>/<entry path>``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from nbgrader.utils import parse_utc

#: The presets ``--lms`` accepts.
PRESET_NAMES = ("canvas", "moodle", "blackboard", "brightspace", "regex")


class PresetError(ValueError):
    """An unknown preset, or a regular expression nbgrader's collector could not use."""


@dataclass(frozen=True)
class LmsFile:
    """What an LMS's name of one downloaded file says.

    Attributes:
        file_name: The student's own file name (the LMS's prefixes removed).
        lms_ids: The LMS's ids of the student that the name allows, most likely first (Blackboard
            usernames may contain ``_`` like the assignment name before them); empty when the
            LMS writes none.
        name: The student's name as the LMS wrote it ("" when it writes none).
        time: The submission time the name carries (naive, the LMS's local time), or None.
        late: Whether the LMS marked the file late (Canvas).
        sequence: The LMS's upload number of the file, which orders two files of the same time
            (Canvas's file id); 0 where the LMS has none.
    """

    file_name: str
    lms_ids: tuple[str, ...]
    name: str = ""
    time: datetime | None = None
    late: bool = False
    sequence: int = 0


@dataclass(frozen=True)
class LmsPreset:
    """One LMS's naming of downloaded submission files.

    Attributes:
        name: The ``--lms`` value.
        label: The LMS's name for messages.
        naming: The naming, as shown to the instructor when nothing matches.
        id_label: What the LMS's id of a student is called ("Canvas user id").
        parse: Reads one zip entry's path (``/``-separated, within ``download`` for the
            regex preset); None when the path does not follow the naming.
        needs_roster: Whether the names carry no user id, so only a roster can map them.
        student_id_is_id: Whether the id in the names may already be the nbgrader student id
            (the regex preset's ``student_id`` group), looked up in the roster's student ids too.
    """

    name: str
    label: str
    naming: str
    id_label: str
    parse: Callable[[str, str], LmsFile | None]
    needs_roster: bool = False
    student_id_is_id: bool = False


_CANVAS = re.compile(
    r"(?:(?!late_)(?P<name>\w*?)_)?(?:(?P<late>late)_)?(?P<user>anon_[0-9a-z]+|\d+)_(?P<file_id>\d+)_"
    r"(?P<file>.+)",
    re.IGNORECASE,
)
_MOODLE_FOLDER = re.compile(
    r"(?:^|/)(?P<name>[^/]+?)_(?P<id>\d+)_assignsubmission_file_?/(?:[^/]+/)*(?P<file>[^/]+)$"
)
_MOODLE_FLAT = re.compile(
    r"(?:^|/)(?P<name>[^/]+?)_(?P<id>\d+)_assignsubmission_file_(?P<file>[^/]+)$"
)
_BLACKBOARD = re.compile(
    r"(?P<prefix>.+?)_attempt_(?P<time>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)_(?P<file>.+)"
)
_BRIGHTSPACE_HEADER = (
    r"(?:^|/)\d+-\d+ - (?P<name>.+?) ?- "
    r"(?P<date>[A-Z][a-z]{2} \d{1,2}, \d{4}) (?P<clock>\d{3,4}) (?P<half>[AP]M)"
)
_BRIGHTSPACE_FOLDER = re.compile(_BRIGHTSPACE_HEADER + r"/(?:[^/]+/)*(?P<file>[^/]+)$")
_BRIGHTSPACE_FLAT = re.compile(_BRIGHTSPACE_HEADER + r" - (?P<file>[^/]+)$")


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def canvas_file(path: str, download: str = "") -> LmsFile | None:
    """A Canvas download's file (flat: only the entry's last component counts)."""
    match = _CANVAS.fullmatch(_basename(path))
    if not match:
        return None
    return LmsFile(
        file_name=match["file"],
        lms_ids=(match["user"],),
        name=match["name"] or "",
        late=bool(match["late"]),
        sequence=int(match["file_id"]),
    )


def moodle_file(path: str, download: str = "") -> LmsFile | None:
    """A Moodle download's file, in a per-student folder or flat."""
    match = _MOODLE_FOLDER.search(path) or _MOODLE_FLAT.search(path)
    if not match:
        return None
    return LmsFile(file_name=match["file"], lms_ids=(match["id"],), name=match["name"])


def blackboard_file(path: str, download: str = "") -> LmsFile | None:
    """A Blackboard Learn download's file; the username is a ``_``-separated tail of what
    precedes ``_attempt_`` (the assignment's name comes first), shortest first."""
    match = _BLACKBOARD.fullmatch(_basename(path))
    if not match:
        return None
    parts = match["prefix"].split("_")
    candidates = tuple("_".join(parts[start:]) for start in range(len(parts) - 1, 0, -1))
    return LmsFile(
        file_name=match["file"],
        lms_ids=candidates or (match["prefix"],),
        time=datetime.strptime(match["time"], "%Y-%m-%d-%H-%M-%S"),
    )


def brightspace_file(path: str, download: str = "") -> LmsFile | None:
    """A Brightspace download's file, in a per-submission folder or flat."""
    match = _BRIGHTSPACE_FOLDER.search(path) or _BRIGHTSPACE_FLAT.search(path)
    if not match:
        return None
    # "926 PM" is 9:26 and "1205 PM" 12:05 (strptime's %I%M would read "105" as 10:05).
    clock = match["clock"]
    hour, minute = int(clock[:-2]), int(clock[-2:])
    try:
        day = datetime.strptime(match["date"], "%b %d, %Y")
        stamp = datetime.strptime(f"{hour}:{minute:02d} {match['half']}", "%I:%M %p")
    except ValueError:
        return None
    time = day.replace(hour=stamp.hour, minute=stamp.minute)
    return LmsFile(file_name=match["file"], lms_ids=(), name=match["name"].strip(), time=time)


def regex_parser(named_regexp: str) -> Callable[[str, str], LmsFile | None]:
    """A parser from nbgrader's ``c.FileNameCollectorPlugin.named_regexp``.

    Raises:
        PresetError: If the pattern is empty, invalid, or lacks ``student_id`` or ``file_id``.
    """
    setting = "c.FileNameCollectorPlugin.named_regexp"
    if not named_regexp:
        raise PresetError(f"{setting} is not set in nbgrader_config.py (needed by --lms regex)")
    try:
        pattern = re.compile(named_regexp)
    except re.error as error:
        raise PresetError(f"{setting} is not a valid regular expression: {error}") from None
    missing = {"student_id", "file_id"} - set(pattern.groupindex)
    if missing:
        groups = ", ".join(f"(?P<{group}>...)" for group in sorted(missing))
        raise PresetError(f"{setting} has no {groups} group")

    def parse(path: str, download: str = "") -> LmsFile | None:
        match = pattern.match(f"{download}/{path}")
        if not match or not match["student_id"] or not match["file_id"]:
            return None
        groups = match.groupdict()
        name = " ".join(filter(None, (groups.get("first_name"), groups.get("last_name"))))
        stamp = groups.get("timestamp")
        try:
            time = _timestamp(stamp) if stamp else None
        except (ValueError, OverflowError):
            return None
        return LmsFile(
            file_name=_basename(match["file_id"]),
            lms_ids=(match["student_id"],),
            name=name,
            time=time,
        )

    return parse


def _timestamp(text: str) -> datetime:
    """A pattern's ``timestamp``: Blackboard's ``YYYY-MM-DD-HH-MM-SS`` (dateutil, behind
    nbgrader's ``parse_utc``, reads ``2024-03-02-08-30-00`` as 08:00, the minutes lost), else
    what nbgrader's ``parse_utc`` reads (converted to UTC when it has a zone)."""
    try:
        return datetime.strptime(text, "%Y-%m-%d-%H-%M-%S")
    except ValueError:
        return parse_utc(text)


#: The presets whose naming is fixed by their LMS, by ``--lms`` value.
_FIXED_PRESETS = {
    lms.name: lms
    for lms in (
        LmsPreset(
            name="canvas",
            label="Canvas",
            naming="<sortable name>_[LATE_]<user id>_<file id>_<file name>",
            id_label="Canvas user id",
            parse=canvas_file,
        ),
        LmsPreset(
            name="moodle",
            label="Moodle",
            naming="<Full Name>_<participant id>_assignsubmission_file/<file> (or _<file>)",
            id_label="Moodle participant id",
            parse=moodle_file,
        ),
        LmsPreset(
            name="blackboard",
            label="Blackboard",
            naming="<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name>",
            id_label="Blackboard username",
            parse=blackboard_file,
        ),
        LmsPreset(
            name="brightspace",
            label="Brightspace",
            naming="<n>-<n> - <First Last> - <Mon D, YYYY HMM AM>/<file name> (or - <file name>)",
            id_label="Brightspace name",
            parse=brightspace_file,
            needs_roster=True,
        ),
    )
}


def preset(name: str, *, named_regexp: str = "") -> LmsPreset:
    """The preset called ``name`` (one of :data:`PRESET_NAMES`).

    Args:
        name: The ``--lms`` value.
        named_regexp: nbgrader's ``c.FileNameCollectorPlugin.named_regexp`` (regex preset only).

    Raises:
        PresetError: If there is no such preset, or the regex preset's pattern is unusable.
    """
    if name in _FIXED_PRESETS:
        return _FIXED_PRESETS[name]
    if name == "regex":
        return LmsPreset(
            name="regex",
            label="the pattern",
            naming=f"c.FileNameCollectorPlugin.named_regexp = {named_regexp!r}",
            id_label="student_id of the pattern",
            parse=regex_parser(named_regexp),
            student_id_is_id=True,
        )
    raise PresetError(f"unknown LMS {name!r} for --lms (known: {', '.join(PRESET_NAMES)})")


# A copy's mark an LMS, a browser or the student adds to a file name: "-1" (Canvas, for a name
# it has already), " (1)" (browsers), "_copy", " - Copy 2".
_COPY_MARK = re.compile(r"(?:\s*\(\d+\)|-\d+|[\s_-]+copy(?:[\s_-]*\d+)?)$", re.IGNORECASE)
#: How alike a renamed file's name must be to a notebook's (difflib's ratio) to be taken for it.
SIMILAR_NAME = 0.85


def _plain(stem: str) -> str:
    return re.sub(r"[\s_-]+", "_", stem.strip().casefold())


def match_notebook(file_name: str, notebooks: list[str]) -> tuple[str | None, str]:
    """The assignment's notebook a downloaded file is, and how its name was matched.

    In order: the same name; the same but for case, spaces, ``-`` and ``_``; the same once copy
    marks are removed from the end (``-1``, `` (1)``, ``_copy``); the notebook whose name starts
    the file's (``02_network_jane.ipynb``; the longest such name); the one notebook with the most
    similar name (difflib ratio at least :data:`SIMILAR_NAME`, and better than any other's).

    Returns:
        The notebook's file name and "exact" or how the name was matched, or None and why not.
    """
    stem = file_name[: -len(".ipynb")] if file_name.lower().endswith(".ipynb") else file_name
    stems = {name[: -len(".ipynb")]: name for name in notebooks}
    if stem in stems:
        return stems[stem], "exact"
    plain = {_plain(key): name for key, name in stems.items()}
    if _plain(stem) in plain:
        return plain[_plain(stem)], "name matched but for case and spaces"
    while _plain(stem) not in plain:
        shorter = _COPY_MARK.sub("", stem)
        if shorter == stem or not shorter.strip():
            break
        stem = shorter
    candidate = _plain(stem)
    if candidate in plain:
        return plain[candidate], "name matched without its copy mark"
    starting = sorted((len(key), name) for key, name in plain.items() if candidate.startswith(key))
    if starting and (len(starting) == 1 or starting[-2][0] < starting[-1][0]):
        return starting[-1][1], "name starts with the notebook's"
    ratios = sorted(
        (difflib.SequenceMatcher(None, candidate, key).ratio(), name) for key, name in plain.items()
    )
    best, name = ratios[-1] if ratios else (0.0, "")
    if best >= SIMILAR_NAME and (len(ratios) == 1 or ratios[-2][0] < best):
        return name, "similar name"
    return None, f"{file_name} is none of the assignment's notebooks ({', '.join(notebooks)})"
