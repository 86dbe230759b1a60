"""The instructor's command line: help, exit codes, collecting an LMS download, a failed batch.

Grading itself through the CLI is covered by ``test_gradekit_batch.py`` (SIGKILL and rerun) and
by ``make demo``; these tests check what the CLI adds around the steps.
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import pytest

from gradekit.cli import build_parser, main
from gradekit.course import Course
from tests.courses import ASSIGNMENT, ROOT, copy_course

RELEASED = sorted((ROOT / "release" / ASSIGNMENT).glob("*.ipynb"))
SUBCOMMANDS = ("release", "collect", "autograde", "feedback", "export", "report", "scores", "demo")


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A released copy of the course without submissions."""
    return copy_course(tmp_path_factory.mktemp("cli-course"), students=())


@pytest.fixture
def in_course(course: Course, monkeypatch: pytest.MonkeyPatch) -> Course:
    """The course, with the working folder and PATH that ``main`` changes restored afterwards."""
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
    assert "nbgrader_config.py" in capsys.readouterr().out


def download(path: Path, files: dict[str, Path | str]) -> Path:
    """A zip file as an LMS gives it: name in the archive -> file to put there (or text)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            if isinstance(content, Path):
                archive.write(content, name)
            else:
                archive.writestr(name, content)
    return path


def test_collect_files_an_lms_download_under_submitted(
    in_course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files: dict[str, Path | str] = {
        f"{student}__{notebook.name}": notebook
        for student in ("erin", "frank")
        for notebook in RELEASED
    }
    files["index.html"] = "<p>the LMS's own page</p>"

    assert main(["collect", str(download(tmp_path / "download.zip", files))]) == 0

    out = capsys.readouterr().out
    assert "collected 6 files" in out, out
    assert "index.html" in out, f"the skipped file is not reported:\n{out}"
    for student in ("erin", "frank"):
        folder = in_course.path("submitted", assignment=ASSIGNMENT, student=student)
        filed = sorted(path.name for path in folder.glob("*.ipynb"))
        assert filed == [path.name for path in RELEASED], (student, filed)


def test_a_later_download_is_collected_alone(
    in_course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same student in two downloads: nbgrader fails on duplicates it cannot order, and an
    # earlier download must not be filed again over a later one.
    first = {f"gina__{notebook.name}": notebook for notebook in RELEASED}
    assert main(["collect", str(download(tmp_path / "first.zip", first))]) == 0
    late = f"gina__{RELEASED[0].name}"
    assert main(["collect", str(download(tmp_path / "late.zip", {late: RELEASED[0]}))]) == 0
    assert "collected 1 file\n" in capsys.readouterr().out


def test_a_download_whose_names_do_not_match_fails(
    in_course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files: dict[str, Path | str] = {f"hugo-{notebook.name}": notebook for notebook in RELEASED}

    assert main(["collect", str(download(tmp_path / "download.zip", files))]) == 1

    out = capsys.readouterr().out
    assert "filed none of the 3 files" in out, out
    assert "named_regexp" in out, out
    assert "hugo" not in in_course.students(ASSIGNMENT)


def test_a_submission_that_cannot_be_graded_exits_1_with_its_reason(
    in_course: Course, capsys: pytest.CaptureFixture[str]
) -> None:
    # A mistyped student id: there is no submission folder to grade.
    assert main(["autograde", "alcie", "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "[1/1] failed alcie" in out, out
    assert "no submission folder" in out, out
    assert "0 graded, 0 skipped, 1 failed" in out, out
