"""The course roster: which nbgrader student an LMS's user id or name in a download stands for.

``roster.csv`` (in the course folder, or ``gradekit collect --roster PATH``) is a CSV file with a
header row naming its columns (case and spaces do not matter: ``Student ID`` is ``student_id``)::

    student_id,name,email,lms_id
    alice,Alice Martin,alice@example.org,4711

- ``student_id`` (required): the nbgrader student id, the folder under ``submitted/``.
- ``name``: the student's name; a download's name matches it whatever the order of the names, the
  case, the accents or the punctuation ("Doe, Jane", "jane doe" and Canvas's "doejane" all match
  "Jane Doe"). Used for LMSs whose file names carry no id (Brightspace), and for rows without an
  ``lms_id``.
- ``email``: kept for the instructor (and later exports); not used for matching.
- ``lms_id``: the student's id in the LMS's file names: Canvas user id, Moodle participant id
  ("Participant 1234567" as Moodle's grading worksheet writes it, or just the number),
  Blackboard username, or the ``student_id`` of a custom pattern.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("student_id", "name", "email", "lms_id")


class RosterError(ValueError):
    """The roster cannot be read or is ambiguous (the message says where)."""


@dataclass(frozen=True)
class Student:
    """One row of the roster."""

    student_id: str
    name: str = ""
    email: str = ""
    lms_id: str = ""


@dataclass(frozen=True)
class Found:
    """The roster's answer for one file's LMS ids and name.

    Attributes:
        student_id: The nbgrader student id, or "" when none matched.
        problem: Why none matched ("" when one did).
    """

    student_id: str
    problem: str = ""


def normalize_lms_id(value: str) -> str:
    """An LMS id as the file names write it ("Participant 1234567" is 1234567)."""
    value = value.strip()
    participant = re.fullmatch(r"participant\s*(\d+)", value, re.IGNORECASE)
    return participant.group(1) if participant else value


def name_words(name: str) -> tuple[str, ...]:
    """The words of a name, lower-case, without accents or punctuation."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in plain if not unicodedata.combining(char)).casefold()
    return tuple(re.findall(r"[^\W_]+", plain))


def name_keys(name: str) -> set[str]:
    """Keys that two writings of the same name share: the sorted words, and (for names written
    without spaces, as Canvas does) the words joined in the given order and last name first."""
    words = name_words(name)
    if not words:
        return set()
    keys = {" ".join(sorted(words)), "".join(words)}
    if len(words) > 1:
        keys.add("".join(words[-1:] + words[:-1]))
    return keys


@dataclass(frozen=True)
class Roster:
    """The students of the course and their LMS ids and names."""

    path: Path
    students: tuple[Student, ...]

    @classmethod
    def read(cls, path: Path) -> Roster:
        """Read a roster CSV file (see the module's documentation for its columns).

        Raises:
            RosterError: If the file cannot be read, has no ``student_id`` column, or a student id
                or LMS id is empty where required or given twice.
        """
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.reader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise RosterError(f"cannot read the roster {path}: {error}") from None
        if not rows:
            raise RosterError(f"the roster {path} is empty (it needs a header row: student_id,…)")
        header = [re.sub(r"[\s-]+", "_", cell.strip().casefold()) for cell in rows[0]]
        if "student_id" not in header:
            raise RosterError(
                f"the roster {path} has no student_id column (its header row must name the "
                f"columns {', '.join(COLUMNS)}; found {', '.join(rows[0])})"
            )
        where = {column: header.index(column) for column in COLUMNS if column in header}
        students, ids, lms_ids = [], set(), set()
        for line, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            cells = {column: row[i].strip() if i < len(row) else "" for column, i in where.items()}
            student = Student(
                student_id=cells["student_id"],
                name=cells.get("name", ""),
                email=cells.get("email", ""),
                lms_id=normalize_lms_id(cells.get("lms_id", "")),
            )
            if not student.student_id:
                raise RosterError(f"{path}, line {line}: no student_id")
            if student.student_id in ids:
                raise RosterError(f"{path}, line {line}: student_id {student.student_id} twice")
            if student.lms_id and student.lms_id in lms_ids:
                raise RosterError(f"{path}, line {line}: lms_id {student.lms_id} twice")
            ids.add(student.student_id)
            lms_ids.add(student.lms_id)
            students.append(student)
        return cls(path=path, students=tuple(students))

    def find(self, *, lms_ids: tuple[str, ...], name: str, student_id_is_id: bool = False) -> Found:
        """The student a downloaded file belongs to.

        The first of ``lms_ids`` that is some student's ``lms_id`` decides (then, when
        ``student_id_is_id``, the first that is a ``student_id``). Otherwise the name decides
        when exactly one student has that name and either the LMS writes no ids or that student
        has no ``lms_id`` (a student whose LMS id is known and differs is never matched by name).

        Args:
            lms_ids: The LMS's ids the file name allows, most likely first.
            name: The student's name as the file name writes it ("" if none).
            student_id_is_id: Whether the ids may be nbgrader student ids already.
        """
        by_lms_id = {student.lms_id: student for student in self.students if student.lms_id}
        for lms_id in lms_ids:
            if lms_id in by_lms_id:
                return Found(by_lms_id[lms_id].student_id)
        if student_id_is_id:
            known = {student.student_id for student in self.students}
            for lms_id in lms_ids:
                if lms_id in known:
                    return Found(lms_id)
        keys = name_keys(name)
        named = [s for s in self.students if s.name and keys & name_keys(s.name)]
        usable = [s for s in named if not lms_ids or not s.lms_id]
        ids = f"the id {' or '.join(lms_ids)}"
        if len(usable) == 1:
            return Found(usable[0].student_id)
        if len(usable) > 1:
            names = ", ".join(student.student_id for student in usable)
            return Found("", f"the name {name!r} is that of several students ({names})")
        if named:
            return Found(
                "",
                f"{ids} is not in the roster, whose {named[0].student_id} has this "
                f"name but the LMS id {named[0].lms_id}",
            )
        if lms_ids and name:
            return Found("", f"neither {ids} nor the name {name!r} is in the roster")
        return Found("", f"{ids if lms_ids else f'the name {name!r}'} is not in the roster")
