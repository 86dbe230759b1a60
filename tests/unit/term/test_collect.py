"""``gradekit collect``: importing LMS downloads only adds, keeps every replaced version, and
knows how Canvas, Moodle, Blackboard and Brightspace name the files of a bulk download.

The downloads are built here as each LMS lays them out (the namings documented in
``gradekit/term/lms.py``), for a tiny course of three notebooks.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from gradekit.cli.main import main
from gradekit.nbgrader.course import Course
from gradekit.term.collect import CollectResult, CollectUsageError, collect_download, history_folder

ASSIGNMENT = "lab"
NOTEBOOKS = ("01_intro.ipynb", "02_model.ipynb", "03_extra.ipynb")
PATTERN = r".*/(?P<student_id>[^/]+?)__(?P<file_id>[^/]+\.ipynb)$"
ROSTER = (
    "Student ID,Name,Email,LMS ID\n"
    "jane,Jane Doe,jane@example.org,4711\n"
    "omar,Omar Haddad,omar@example.org,jdoe2\n"
    "li,Li Wei,li@example.org,\n"
)
EARLY = (2024, 3, 1, 9, 0, 0)
LATER = (2024, 3, 8, 9, 0, 0)


def notebook(text: str) -> bytes:
    """A small notebook whose only cell says ``text`` (each version of a file differs)."""
    cell = nbformat.v4.new_markdown_cell(text, id="only-cell")
    return nbformat.writes(nbformat.v4.new_notebook(cells=[cell])).encode()


def download(path: Path, files: dict[str, bytes], when: tuple[int, ...] = EARLY) -> Path:
    """A zip file as an LMS gives it: entry name -> content, every entry dated ``when``."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=when), content)
    return path


@pytest.fixture
def course(tmp_path: Path) -> Course:
    """A course of one assignment with three notebooks, no submissions, and a roster."""
    root = tmp_path / "course"
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for name in NOTEBOOKS:
        (source / name).write_bytes(notebook(f"release of {name}"))
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.FileNameCollectorPlugin.named_regexp = {PATTERN!r}\n",
        encoding="utf-8",
    )
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return Course.find(root)


def collect(
    course: Course, lms: str, *downloads: Path, roster: Path | None = None
) -> CollectResult:
    return collect_download(
        course=course, assignment=ASSIGNMENT, downloads=downloads, lms=lms, roster=roster
    )


def submitted(course: Course, student: str) -> dict[str, bytes]:
    folder = course.path("submitted", assignment=ASSIGNMENT, student=student)
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.ipynb"))}


def history(course: Course, student: str) -> dict[str, bytes]:
    folder = history_folder(course, ASSIGNMENT, student)
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.ipynb"))}


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the course (for comparing before and after an import)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def canvas(user: int, file_id: int, name: str, *, late: bool = False) -> str:
    """Canvas's name of a submitted file (lib/content_zipper.rb): sortable name, LATE, ids."""
    return f"doejane_{'LATE_' if late else ''}{user}_{file_id}_{name}"


def first_download(tmp_path: Path) -> Path:
    """Canvas: Jane's three notebooks."""
    files = {
        canvas(4711, 100 + i, name): notebook(f"jane v1 {name}") for i, name in enumerate(NOTEBOOKS)
    }
    return download(tmp_path / "first.zip", files, EARLY)


def second_download(tmp_path: Path) -> Path:
    """Canvas, a week later: Jane re-uploaded one notebook (Canvas renamed it ``-1``), late."""
    name = canvas(4711, 200, "02_model-1.ipynb", late=True)
    return download(tmp_path / "second.zip", {name: notebook("jane v2 02_model")}, LATER)


# -- importing only adds ---------------------------------------------------------------------------


def test_a_reuploaded_notebook_replaces_only_itself_and_the_old_one_is_kept(
    course: Course, tmp_path: Path
) -> None:
    collect(course, "canvas", first_download(tmp_path))
    result = collect(course, "canvas", second_download(tmp_path))

    files = submitted(course, "jane")
    assert sorted(files) == list(NOTEBOOKS), "the notebooks not re-uploaded must stay"
    assert files["01_intro.ipynb"] == notebook("jane v1 01_intro.ipynb")
    assert files["02_model.ipynb"] == notebook("jane v2 02_model")
    assert files["03_extra.ipynb"] == notebook("jane v1 03_extra.ipynb")
    assert history(course, "jane") == {
        "2024-03-01T09-00-00__02_model.ipynb": notebook("jane v1 02_model.ipynb")
    }
    [filed] = result.filed
    assert (filed.version.notebook, filed.version.time, filed.version.late) == (
        "02_model.ipynb",
        datetime(*LATER),
        True,
    )
    assert filed.replaced == history_folder(course, ASSIGNMENT, "jane") / (
        "2024-03-01T09-00-00__02_model.ipynb"
    )
    record = json.loads((history_folder(course, ASSIGNMENT, "jane") / "record.json").read_text())
    assert record["filed"]["02_model.ipynb"]["time"] == "2024-03-08T09:00:00"
    assert [entry["time"] for entry in record["history"]] == ["2024-03-01T09:00:00"]


def test_importing_the_same_downloads_again_changes_nothing(course: Course, tmp_path: Path) -> None:
    first, second = first_download(tmp_path), second_download(tmp_path)
    collect(course, "canvas", first)
    collect(course, "canvas", second)
    before = tree(course.root)

    again = [collect(course, "canvas", second), collect(course, "canvas", first)]

    assert tree(course.root) == before
    assert [(r.filed, r.kept) for r in again] == [([], []), ([], [])]
    assert [len(r.unchanged) for r in again] == [1, 3]


def test_of_several_attempts_in_one_download_the_newest_is_filed(
    course: Course, tmp_path: Path
) -> None:
    # Blackboard: three attempts at notebook 1 in one download, listed out of order.
    attempts = {
        f"Lab 1_jdoe2_attempt_2024-03-0{day}-10-00-00_01_intro.ipynb": notebook(f"attempt {day}")
        for day in (2, 5, 3)
    }
    result = collect(course, "blackboard", download(tmp_path / "bb.zip", attempts))

    assert submitted(course, "omar") == {"01_intro.ipynb": notebook("attempt 5")}
    assert history(course, "omar") == {
        "2024-03-02T10-00-00__01_intro.ipynb": notebook("attempt 2"),
        "2024-03-03T10-00-00__01_intro.ipynb": notebook("attempt 3"),
    }
    assert [kept.reason.split(" (")[0] for kept in result.kept] == [
        "older than the filed version of 2024-03-05 10:00:00"
    ] * 2


def test_an_older_file_never_replaces_a_newer_one(course: Course, tmp_path: Path) -> None:
    newer = {"Lab 1_jdoe2_attempt_2024-03-05-10-00-00_01_intro.ipynb": notebook("newer")}
    older = {"Lab 1_jdoe2_attempt_2024-03-02-10-00-00_01_intro.ipynb": notebook("older")}
    collect(course, "blackboard", download(tmp_path / "newer.zip", newer))
    # Downloaded later (newer zip entries), but the attempt in its name is older.
    result = collect(course, "blackboard", download(tmp_path / "older.zip", older, LATER))

    assert submitted(course, "omar") == {"01_intro.ipynb": notebook("newer")}
    assert history(course, "omar") == {"2024-03-02T10-00-00__01_intro.ipynb": notebook("older")}
    assert not result.filed and result.kept[0].reason.startswith("older than the filed version")


def test_a_download_older_than_a_notebook_filed_by_hand_goes_to_the_history(
    course: Course, tmp_path: Path
) -> None:
    # nbgrader's own timestamp.txt dates a submission that gradekit collect did not file.
    folder = course.path("submitted", assignment=ASSIGNMENT, student="omar")
    folder.mkdir(parents=True)
    (folder / "01_intro.ipynb").write_bytes(notebook("by hand"))
    (folder / "timestamp.txt").write_text("2024-03-04 12:00:00")
    older = {"Lab 1_jdoe2_attempt_2024-03-02-10-00-00_01_intro.ipynb": notebook("older")}

    collect(course, "blackboard", download(tmp_path / "older.zip", older, LATER))

    assert submitted(course, "omar") == {"01_intro.ipynb": notebook("by hand")}
    assert list(history(course, "omar")) == ["2024-03-02T10-00-00__01_intro.ipynb"]


def test_the_newest_attempt_time_becomes_nbgraders_timestamp(
    course: Course, tmp_path: Path
) -> None:
    files = {
        "Lab 1_jdoe2_attempt_2024-03-02-10-00-00_01_intro.ipynb": notebook("a"),
        "Lab 1_jdoe2_attempt_2024-03-06-18-30-00_02_model.ipynb": notebook("b"),
    }
    collect(course, "blackboard", download(tmp_path / "bb.zip", files))

    stamp = course.path("submitted", assignment=ASSIGNMENT, student="omar") / "timestamp.txt"
    assert stamp.read_text() == "2024-03-06 18:30:00"


# -- the LMS presets -------------------------------------------------------------------------------

MARCH_1_0915 = datetime(2024, 3, 1, 9, 15)
ZIP_TIME = datetime(*EARLY)
#: For each preset: a download laid out as that LMS lays it out (Jane's two notebooks and the
#: LMS's own extra files), and the submission time the names carry (else the zip entry's).
LAYOUTS: dict[str, tuple[str, dict[str, bytes], datetime]] = {
    "canvas": (
        "canvas",
        {
            canvas(4711, 301, "01_intro.ipynb"): notebook("j1"),
            canvas(4711, 302, "02_model.ipynb", late=True): notebook("j2"),
            "doejane_4711_303_notes.pdf": b"%PDF",
        },
        ZIP_TIME,
    ),
    "moodle-folders": (
        "moodle",
        {
            "Li Wei_1234567_assignsubmission_file/01_intro.ipynb": notebook("j1"),
            "Li Wei_1234567_assignsubmission_file/02_model.ipynb": notebook("j2"),
            "Li Wei_1234567_assignsubmission_onlinetext/onlinetext.html": b"<p>hi</p>",
        },
        ZIP_TIME,
    ),
    "moodle-folders-before-4": (
        "moodle",
        {
            "Li Wei_1234567_assignsubmission_file_/01_intro.ipynb": notebook("j1"),
            "Li Wei_1234567_assignsubmission_file_/02_model.ipynb": notebook("j2"),
        },
        ZIP_TIME,
    ),
    "moodle-flat": (
        "moodle",
        {
            "Li Wei_1234567_assignsubmission_file_01_intro.ipynb": notebook("j1"),
            "Li Wei_1234567_assignsubmission_file_02_model.ipynb": notebook("j2"),
        },
        ZIP_TIME,
    ),
    "blackboard": (
        "blackboard",
        {
            "Lab 1_jdoe2_attempt_2024-03-01-09-15-00_01_intro.ipynb": notebook("j1"),
            "Lab 1_jdoe2_attempt_2024-03-01-09-15-00_02_model.ipynb": notebook("j2"),
            "Lab 1_jdoe2_attempt_2024-03-01-09-15-00.txt": b"Name: Omar Haddad (jdoe2)\n",
        },
        MARCH_1_0915,
    ),
    "brightspace-folders": (
        "brightspace",
        {
            "index.html": b"<html></html>",
            "123456-789012 - Jane Doe - Mar 1, 2024 915 AM/01_intro.ipynb": notebook("j1"),
            "123456-789012 - Jane Doe - Mar 1, 2024 915 AM/02_model.ipynb": notebook("j2"),
        },
        MARCH_1_0915,
    ),
    "brightspace-flat": (
        "brightspace",
        {
            "index.html": b"<html></html>",
            "123456-789012 - Jane Doe - Mar 1, 2024 915 AM - 01_intro.ipynb": notebook("j1"),
            "123456-789012 - Jane Doe - Mar 1, 2024 915 AM - 02_model.ipynb": notebook("j2"),
        },
        MARCH_1_0915,
    ),
    "regex": (
        "regex",
        {"jane__01_intro.ipynb": notebook("j1"), "jane__02_model.ipynb": notebook("j2")},
        ZIP_TIME,
    ),
}
#: Who the roster says each layout's student is (Blackboard's username is Omar's; Moodle's
#: participant id is in no row: the name decides, for Li, whose row has no lms_id).
OWNER = {"blackboard": "omar", "moodle": "li"}


@pytest.mark.parametrize("layout", list(LAYOUTS), ids=list(LAYOUTS))
def test_each_lms_download_is_filed_as_its_names_say(
    course: Course, tmp_path: Path, layout: str
) -> None:
    lms, files, time = LAYOUTS[layout]
    student = OWNER.get(lms, "jane")

    result = collect(course, lms, download(tmp_path / f"{layout}.zip", files))

    assert submitted(course, student) == {
        "01_intro.ipynb": notebook("j1"),
        "02_model.ipynb": notebook("j2"),
    }
    assert {(f.version.student, f.version.time) for f in result.filed} == {(student, time)}
    late = {f.version.notebook for f in result.filed if f.version.late}
    assert late == ({"02_model.ipynb"} if lms == "canvas" else set())
    extra = len(files) - 2
    assert len(result.skipped) == extra, result.skipped
    assert not result.unknown and course.students(ASSIGNMENT) == [student]


def test_canvas_anonymous_grading_names_are_read(course: Course, tmp_path: Path) -> None:
    files = {"LATE_anon_x7Kq2_401_01_intro.ipynb": notebook("anonymous")}
    result = collect(course, "canvas", download(tmp_path / "anon.zip", files), roster=None)

    assert list(result.unknown) == ["Canvas user id anon_x7Kq2"]


def test_a_blackboard_username_with_underscores_is_found_in_the_roster(
    course: Course, tmp_path: Path
) -> None:
    # The assignment's name and the username are both joined with "_": the roster decides.
    roster = tmp_path / "bb-roster.csv"
    roster.write_text("student_id,lms_id\nsam,s_lee_01\n")
    files = {"Lab_1_s_lee_01_attempt_2024-03-01-09-15-00_01_intro.ipynb": notebook("s")}

    collect(course, "blackboard", download(tmp_path / "bb.zip", files), roster=roster)

    assert submitted(course, "sam") == {"01_intro.ipynb": notebook("s")}


def test_the_patterns_timestamp_group_dates_the_file(course: Course, tmp_path: Path) -> None:
    pattern = r".*/(?P<student_id>\w+?)_attempt_(?P<timestamp>[0-9-]+)_(?P<file_id>\w+\.ipynb)"
    config = course.root / "nbgrader_config.py"
    config.write_text(
        config.read_text() + f"c.FileNameCollectorPlugin.named_regexp = {pattern!r}\n"
    )
    files = {"jane_attempt_2024-03-02-08-30-00_01_intro.ipynb": notebook("j")}

    result = collect(Course.find(course.root), "regex", download(tmp_path / "r.zip", files))

    assert [(f.version.student, f.version.time, f.version.time_from) for f in result.filed] == [
        ("jane", datetime(2024, 3, 2, 8, 30), "file name")
    ]


@pytest.mark.parametrize(
    ("file_name", "how"),
    [
        ("02_model-1.ipynb", "name matched without its copy mark"),
        ("02_model (1).ipynb", "name matched without its copy mark"),
        ("02_model_copy.ipynb", "name matched without its copy mark"),
        ("02 model-2 (1).ipynb", "name matched without its copy mark"),
        ("02_Model.ipynb", "name matched but for case and spaces"),
        ("02_model_jane_final.ipynb", "name starts with the notebook's"),
        ("02_modle.ipynb", "similar name"),
    ],
    ids=["canvas-dash", "browser-copy", "copy", "spaces-and-marks", "case", "renamed", "typo"],
)
def test_a_file_name_with_an_lms_suffix_is_matched_to_its_notebook(
    course: Course, tmp_path: Path, file_name: str, how: str
) -> None:
    files = {canvas(4711, 501, file_name): notebook("renamed")}
    result = collect(course, "canvas", download(tmp_path / "renamed.zip", files))

    assert submitted(course, "jane") == {"02_model.ipynb": notebook("renamed")}
    assert result.filed[0].version.origin == f"renamed.zip:doejane_4711_501_{file_name} ({how})"


def test_a_file_that_is_none_of_the_notebooks_is_reported(course: Course, tmp_path: Path) -> None:
    files = {canvas(4711, 601, "scratch.ipynb"): notebook("other"), "doejane_4711_602_x.txt": b""}
    result = collect(course, "canvas", download(tmp_path / "other.zip", files))

    assert not result.matched and not course.students(ASSIGNMENT)
    reasons = {skipped.origin.split(":")[1]: skipped.reason for skipped in result.skipped}
    assert reasons["doejane_4711_601_scratch.ipynb"].startswith(
        "scratch.ipynb is none of the assignment's notebooks"
    )
    assert reasons["doejane_4711_602_x.txt"] == "not a notebook"


# -- the roster ------------------------------------------------------------------------------------


def test_students_the_roster_does_not_know_are_listed_not_filed(
    course: Course, tmp_path: Path
) -> None:
    files = {
        canvas(4711, 701, "01_intro.ipynb"): notebook("jane"),
        "smithjohn_9999_702_01_intro.ipynb": notebook("john 1"),
        "smithjohn_9999_703_02_model.ipynb": notebook("john 2"),
    }
    result = collect(course, "canvas", download(tmp_path / "d.zip", files))

    assert course.students(ASSIGNMENT) == ["jane"], "an unknown student must not be filed"
    assert list(result.unknown) == ["Canvas user id 9999 (smithjohn)"]
    assert [s.origin for s in result.unknown["Canvas user id 9999 (smithjohn)"]] == [
        "d.zip:smithjohn_9999_702_01_intro.ipynb",
        "d.zip:smithjohn_9999_703_02_model.ipynb",
    ]


def test_without_a_roster_the_lms_id_is_the_student_id(course: Course, tmp_path: Path) -> None:
    (course.root / "roster.csv").unlink()
    files = {canvas(4711, 801, "01_intro.ipynb"): notebook("jane")}

    result = collect(course, "canvas", download(tmp_path / "d.zip", files))

    assert result.roster is None and course.students(ASSIGNMENT) == ["4711"]


def test_a_name_matches_a_roster_row_without_lms_id_in_any_order(
    course: Course, tmp_path: Path
) -> None:
    files = {"WEI, Li_555_assignsubmission_file/01_intro.ipynb": notebook("li")}
    collect(course, "moodle", download(tmp_path / "d.zip", files))

    assert submitted(course, "li") == {"01_intro.ipynb": notebook("li")}


def test_a_roster_gives_moodle_participant_ids_as_the_worksheet_writes_them(
    course: Course, tmp_path: Path
) -> None:
    roster = tmp_path / "moodle-roster.csv"
    roster.write_text("student_id,name,email,lms_id\nnadia,N. K.,,Participant 7654321\n")
    files = {"Nadia K_7654321_assignsubmission_file/01_intro.ipynb": notebook("n")}

    collect(course, "moodle", download(tmp_path / "d.zip", files), roster=roster)

    assert submitted(course, "nadia") == {"01_intro.ipynb": notebook("n")}


@pytest.mark.parametrize(
    ("roster", "message"),
    [
        ("name,lms_id\nJane,1\n", "has no student_id column"),
        ("student_id,lms_id\njane,1\nomar,1\n", "line 3: lms_id 1 twice"),
        ("student_id,lms_id\njane,1\njane,2\n", "line 3: student_id jane twice"),
    ],
    ids=["no-student-id-column", "lms-id-twice", "student-id-twice"],
)
def test_an_unusable_roster_is_a_usage_error(
    course: Course, tmp_path: Path, roster: str, message: str
) -> None:
    (course.root / "roster.csv").write_text(roster)
    with pytest.raises(CollectUsageError, match=message):
        collect(course, "canvas", first_download(tmp_path))


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def in_course(course: Course, monkeypatch: pytest.MonkeyPatch) -> Course:
    """The course, with the working folder and PATH that ``main`` changes restored afterwards."""
    monkeypatch.chdir(course.root)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return course


def test_the_command_says_what_was_filed_kept_skipped_and_unknown(
    in_course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["collect", "--lms", "canvas", str(first_download(tmp_path))]) == 0
    second = download(
        tmp_path / "second.zip",
        {
            canvas(4711, 200, "02_model-1.ipynb", late=True): notebook("jane v2"),
            "smithjohn_9999_702_01_intro.ipynb": notebook("john"),
            "doejane_4711_201_notes.txt": b"",
        },
        LATER,
    )
    capsys.readouterr()

    assert main(["collect", "--lms", "canvas", str(second)]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"roster: {in_course.root / 'roster.csv'}"
    assert out[1:3] == [
        "filed 1 notebook:",
        "  jane  02_model.ipynb  2024-03-08 09:00:00 (time from the zip entry, marked late)  from "
        "second.zip:doejane_LATE_4711_200_02_model-1.ipynb (name matched without its copy mark)",
    ]
    assert out[3:5] == [
        "kept 1 other version in the history:",
        "  jane  02_model.ipynb  2024-03-01 09:00:00: replaced by "
        "second.zip:doejane_LATE_4711_200_02_model-1.ipynb (name matched without its copy mark) "
        "-> submitted_history/jane/lab/2024-03-01T09-00-00__02_model.ipynb",
    ]
    assert out[5:] == [
        "skipped 1 file:",
        "  second.zip:doejane_4711_201_notes.txt: not a notebook",
        "not filed: 1 file of 1 student the roster does not know:",
        "  Canvas user id 9999 (smithjohn): 1 file, neither the id 9999 nor the name 'smithjohn' "
        "is in the roster",
        "1 student with a submission: jane",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--lms", "sakai", "{zip}"], "unknown LMS 'sakai' for --lms (known: canvas, moodle"),
        (["{missing}"], "no such file: "),
        (["{not_zip}"], "not a zip file: "),
        (["--lms", "brightspace", "--roster", "{missing}", "{zip}"], "no such roster: "),
    ],
    ids=["unknown-lms", "missing-zip", "not-a-zip", "missing-roster"],
)
def test_a_usage_error_is_one_line_on_stderr_and_exit_code_2(
    in_course: Course,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    paths = {
        "zip": str(first_download(tmp_path)),
        "missing": str(tmp_path / "missing.zip"),
        "not_zip": str(tmp_path / "notes.txt"),
    }
    (tmp_path / "notes.txt").write_text("not a zip")

    assert main(["collect", *(a.format(**paths) for a in arguments)]) == 2

    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err
    assert "Traceback" not in captured.err + captured.out


def test_brightspace_without_a_roster_is_a_usage_error(
    in_course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_course.root / "roster.csv").unlink()
    zip_path = download(tmp_path / "d2l.zip", LAYOUTS["brightspace-folders"][1])

    assert main(["collect", "--lms", "brightspace", str(zip_path)]) == 2
    assert "Brightspace's file names carry no user id" in capsys.readouterr().err


def test_a_download_of_which_nothing_matches_exits_1(
    in_course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {f"hugo-{name}": notebook("hugo") for name in NOTEBOOKS}

    assert main(["collect", str(download(tmp_path / "d.zip", files))]) == 1

    captured = capsys.readouterr()
    assert "not of the pattern's naming c.FileNameCollectorPlugin.named_regexp" in captured.out
    assert captured.err.count("\n") == 1
    assert "no file of d.zip is a known student's notebook of lab" in captured.err
    assert not in_course.students(ASSIGNMENT)
