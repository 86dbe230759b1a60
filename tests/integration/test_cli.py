"""The instructor's command line: help, exit codes, collecting an LMS download, a failed batch.

Grading itself through the CLI is covered by ``test_batch.py`` (SIGKILL and rerun) and
by ``make demo``; these tests check what the CLI adds around the steps.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from gradekit.cli.main import build_parser, main
from gradekit.nbgrader.course import Course
from synthetic.courses import ASSIGNMENT, ROOT, copy_course

RELEASED = sorted((ROOT / "release" / ASSIGNMENT).glob("*.ipynb"))
SUBCOMMANDS = (
    "release",
    "collect",
    "autograde",
    "deadlines",
    "feedback",
    "export",
    "report",
    "scores",
    "status",
    "lab",
    "demo",
)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A released copy of the course without submissions."""
    return copy_course(tmp_path_factory.mktemp("cli-course"), students=())


@pytest.fixture
def in_course(course: Course, monkeypatch: pytest.MonkeyPatch) -> Course:
    """The course, as the working folder."""
    monkeypatch.chdir(course.root)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return course


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=[f"help-{c}" for c in SUBCOMMANDS])
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([command, "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: gradekit {command}"), out
    assert "--assignment" in out, f"{command} --help does not mention --assignment:\n{out}"


def test_every_subcommand_is_listed_in_the_main_help() -> None:
    text = build_parser().format_help()
    missing = [command for command in SUBCOMMANDS if f"    {command} " not in text]
    assert not missing, f"not in `gradekit --help`: {missing}\n{text}"


def test_an_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["grade-everything"])
    assert stopped.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_folder_without_a_course_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--course", str(tmp_path), "scores"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().count("\n") == 0, captured.err
    assert "nbgrader_config.py" in captured.err


def download(path: Path, files: dict[str, bytes], when: tuple[int, ...]) -> Path:
    """A zip file as an LMS gives it: name in the archive -> content, all dated ``when``."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=when), content)
    return path


def test_collect_files_an_lms_download_under_submitted(
    in_course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        f"{student}__{notebook.name}": notebook.read_bytes()
        for student in ("erin", "frank")
        for notebook in RELEASED
    }
    files["index.html"] = b"<p>the LMS's own page</p>"

    assert (
        main(["collect", str(download(tmp_path / "download.zip", files, (2024, 3, 1, 9, 0, 0)))])
        == 0
    )

    out = capsys.readouterr().out
    assert "filed 6 notebooks:" in out, out
    assert "download.zip:index.html: not a notebook" in out, out
    for student in ("erin", "frank"):
        folder = in_course.path("submitted", assignment=ASSIGNMENT, student=student)
        filed = sorted(path.name for path in folder.glob("*.ipynb"))
        assert filed == [path.name for path in RELEASED], (student, filed)


def test_a_reupload_of_one_notebook_keeps_the_other_two(
    in_course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The course's own notebooks: a student re-uploads one; the other two must stay.
    first = {f"gina__{notebook.name}": notebook.read_bytes() for notebook in RELEASED}
    assert (
        main(["collect", str(download(tmp_path / "first.zip", first, (2024, 3, 1, 9, 0, 0)))]) == 0
    )
    again = {
        f"gina__{RELEASED[1].name}": RELEASED[1].read_bytes().replace(b"YOUR CODE", b"MY CODE")
    }
    late = download(tmp_path / "late.zip", again, (2024, 3, 8, 9, 0, 0))
    capsys.readouterr()

    assert main(["collect", str(late)]) == 0

    assert "filed 1 notebook:" in capsys.readouterr().out
    folder = in_course.path("submitted", assignment=ASSIGNMENT, student="gina")
    assert sorted(path.name for path in folder.glob("*.ipynb")) == [p.name for p in RELEASED]
    assert (folder / RELEASED[1].name).read_bytes() == again[f"gina__{RELEASED[1].name}"]
    kept = in_course.root / "submitted_history" / "gina" / ASSIGNMENT
    assert (kept / f"2024-03-01T09-00-00__{RELEASED[1].name}").read_bytes() == RELEASED[
        1
    ].read_bytes()


def test_a_download_whose_names_do_not_match_fails(
    in_course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {f"hugo-{notebook.name}": notebook.read_bytes() for notebook in RELEASED}

    assert (
        main(["collect", str(download(tmp_path / "download.zip", files, (2024, 3, 1, 9, 0, 0)))])
        == 1
    )

    captured = capsys.readouterr()
    assert "skipped 3 files:" in captured.out, captured.out
    assert "named_regexp" in captured.out, captured.out
    assert "no file of download.zip is a known student's notebook" in captured.err
    assert "hugo" not in in_course.students(ASSIGNMENT)


def test_a_mistyped_student_is_one_line_before_any_worker_starts(
    in_course: Course, capsys: pytest.CaptureFixture[str]
) -> None:
    # Options in any position: --assignment before the subcommand, --course after it.
    argv = ["--assignment", ASSIGNMENT, "autograde", "alcie", "--course", str(in_course.root)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    count = len(in_course.students(ASSIGNMENT))
    assert captured.err.strip() == (
        f"gradekit autograde: no submission of {ASSIGNMENT} for alcie (submitted/ has {count} "
        "students; `gradekit status` counts them)"
    )
    assert "worker" not in captured.out


def test_the_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("gradekit 0.")


def test_status_counts_each_step(in_course: Course, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 0
    count = len(in_course.students(ASSIGNMENT))
    assert capsys.readouterr().out.strip().splitlines() == [
        f"{ASSIGNMENT}: released, {count} collected, 0 graded (0 stale), 0 late, 0 graded by "
        "hand (0 waiting), feedback for 0",
        "softmax_regression: not released, 0 collected, 0 graded (0 stale), 0 late, 0 graded by "
        "hand (0 waiting), feedback for 0",
    ]


def test_a_course_without_source_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    assert main(["release", "--course", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradekit release: no source/ folder in"), err
    assert "Traceback" not in err


def test_an_unknown_assignment_is_one_line(
    in_course: Course, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scores", "--assignment", "hw9"]) == 2
    assert capsys.readouterr().err.startswith("gradekit scores: no assignment 'hw9' in source/")


def test_a_command_leaves_the_process_as_it_found_it(
    course: Course, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path, filters = os.environ.get("PATH"), list(warnings.filters)
    handlers = list(logging.getLogger().handlers)
    log = tmp_path / "status.log"
    assert main(["status", "--course", str(course.root), "-v", "--log-file", str(log)]) == 0
    assert Path.cwd() == tmp_path
    assert os.environ.get("PATH") == path
    assert warnings.filters == filters
    assert logging.getLogger().handlers == handlers
    assert log.is_file()
