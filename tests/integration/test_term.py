"""A whole term on the bundled course, through the real commands.

Canvas and Moodle downloads (one student late, one who re-uploaded a notebook), autograde, a
reflection graded by hand, an extension, exports for Canvas and Moodle, feedback archives, and a
regrade after a grader change; the exports, ``changes.csv`` and the history are checked against
the gradebook, and no submitted file may be lost at any step.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from gradekit.cli.main import main
from gradekit.nbgrader.course import Course
from gradekit.term.collect import history_folder
from synthetic.courses import ASSIGNMENT, ROOT, copy_course, quiet_gradebook

pytestmark = pytest.mark.slow

NB1, NB2, NB3 = sorted(p.name for p in (ROOT / "release" / ASSIGNMENT).glob("*.ipynb"))
ROSTER = (
    "student_id,name,email,lms_id\n"
    "alice,Alice Martin,alice@example.org,101\n"
    "bob,Bob Stone,bob@example.org,102\n"
    "dave,Dave Kim,dave@example.org,Participant 5003\n"
)
EARLY = (2026, 3, 9, 8, 0, 0)  # the first Canvas download
LATER = (2026, 3, 12, 8, 0, 0)  # the second, after bob's re-upload
REFLECTION = "reflection_nonlinearity"


def bundled(student: str, name: str) -> bytes:
    return (ROOT / "submitted" / student / ASSIGNMENT / name).read_bytes()


def download(path: Path, files: dict[str, bytes], when: tuple[int, ...]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=when), content)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kept_files(course: Course) -> set[str]:
    """Digests of every notebook in submitted/ and in the history."""
    roots = [course.root / "submitted", course.root / "submitted_history"]
    return {sha(p.read_bytes()) for root in roots for p in root.rglob("*.ipynb")}


def all_scores(course: Course) -> dict[tuple[str, str], float]:
    with quiet_gradebook(), Gradebook(course.coursedir.db_url) as gradebook:
        return {
            (sub.student.id, f"{nb.name}/{grade.name}"): round(grade.score, 6)
            for sub in gradebook.find_assignment(ASSIGNMENT).submissions
            for nb in sub.notebooks
            for grade in nb.grades
        }


def totals(course: Course) -> dict[str, tuple[float, float]]:
    """student -> (score with manual grades, late penalty) from the gradebook."""
    with quiet_gradebook(), Gradebook(course.coursedir.db_url) as gradebook:
        return {
            sub.student.id: (sub.score, sub.late_submission_penalty)
            for sub in gradebook.find_assignment(ASSIGNMENT).submissions
        }


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_a_term_with_canvas_and_moodle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    course = copy_course(tmp_path / "course", students=())
    root = course.root
    # The graders are the course's own copy, so that the instructor can change them mid-term.
    (root / "grader_tests").unlink()
    shutil.copytree(ROOT / "grader_tests", root / "grader_tests")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")

    # -- collect: Canvas (alice, bob; bob re-uploads notebook 2, late), Moodle (dave) ------------
    first = {
        f"martinalice_101_{11 + i}_{name}": bundled("alice_complete", name)
        for i, name in enumerate((NB1, NB2, NB3))
    } | {
        f"stonebob_102_{21 + i}_{name}": bundled("bob_typical_bugs", name)
        for i, name in enumerate((NB1, NB2, NB3))
    }
    fixed = bundled("alice_complete", NB2)  # bob's corrected notebook 2
    second = {f"stonebob_LATE_102_31_{NB2.replace('.ipynb', '-1.ipynb')}": fixed}
    moodle = {
        f"Dave Kim_5003_assignsubmission_file/{name}": bundled("dave_partly_done", name)
        for name in (NB1, NB2, NB3)
    }
    zips = [
        ("canvas", download(tmp_path / "canvas1.zip", first, EARLY)),
        ("canvas", download(tmp_path / "canvas2.zip", second, LATER)),
        ("moodle", download(tmp_path / "moodle.zip", moodle, EARLY)),
    ]
    submitted_digests = {sha(data) for files in (first, second, moodle) for data in files.values()}
    for lms, path in zips:
        assert main(["collect", "--lms", lms, str(path)]) == 0, capsys.readouterr()
    assert course.students(ASSIGNMENT) == ["alice", "bob", "dave"]
    bob = course.path("submitted", assignment=ASSIGNMENT, student="bob")
    assert (bob / NB2).read_bytes() == fixed
    assert (bob / NB1).read_bytes() == bundled("bob_typical_bugs", NB1)
    history = history_folder(course, ASSIGNMENT, "bob")
    assert [p.read_bytes() for p in history.glob("*.ipynb")] == [bundled("bob_typical_bugs", NB2)]
    assert submitted_digests <= kept_files(course)

    # Moodle's grading worksheet says when dave submitted: 1 d 10 h after the due date.
    (root / "submission_times.csv").write_text(
        "student_id,assignment,submitted\ndave,mlp_from_scratch,2026-03-10 10:00:00 UTC\n"
        "bob,mlp_from_scratch,2026-03-08 23:00:00 UTC\n",
        encoding="utf-8",
    )

    # -- autograde, a reflection by hand -------------------------------------------------------
    assert main(["autograde", "--jobs", "1"]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "isolated by" in out
    before_manual = totals(course)
    raw_dave = before_manual["dave"][0]
    assert before_manual["dave"][1] == pytest.approx(0.2 * raw_dave, abs=1e-6)  # 2 started days
    assert before_manual["bob"][1] == 0
    with quiet_gradebook(), Gradebook(course.coursedir.db_url) as gradebook:
        grade = gradebook.find_grade(REFLECTION, NB3.removesuffix(".ipynb"), ASSIGNMENT, "alice")
        assert grade.needs_manual_grade
        grade.manual_score = 1.5
        gradebook.db.commit()

    # -- one extension: dave is now 10 h late (10 %), recomputed without grading -----------------
    (root / "extensions.csv").write_text(
        "student_id,assignment,extension\ndave,mlp_from_scratch,1 day\n", encoding="utf-8"
    )
    assert main(["deadlines"]) == 0
    after = totals(course)
    assert after["dave"] == (pytest.approx(raw_dave), pytest.approx(0.1 * raw_dave, abs=1e-6))
    changes = read_csv(root / ".gradekit" / ASSIGNMENT / "changes.csv")
    assert [row[1:] for row in changes[1:]] == [
        [
            "dave",
            "late penalty",
            f"{round(0.2 * raw_dave, 6):g}",
            f"{round(0.1 * raw_dave, 6):g}",
            "deadline changed",
        ]
    ]

    # -- exports for Canvas and Moodle ---------------------------------------------------------
    for fmt in ("canvas", "moodle"):
        assert main(["export", "--format", fmt, "--roster", str(root / "roster.csv")]) == 0
    final = {student: score - penalty for student, (score, penalty) in after.items()}
    assert after["alice"][0] == pytest.approx(before_manual["alice"][0] + 1.5)
    canvas = read_csv(root / "exports" / "canvas_grades.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert canvas[1][0] == "Points Possible"
    assert {row[2]: (row[1], float(row[5])) for row in canvas[2:]} == {
        "alice": ("101", pytest.approx(final["alice"], abs=0.006)),
        "bob": ("102", pytest.approx(final["bob"], abs=0.006)),
        "dave": ("5003", pytest.approx(final["dave"], abs=0.006)),
    }
    moodle_rows = read_csv(root / "exports" / "moodle_grades.csv")
    dave_row = next(row for row in moodle_rows if row[1] == "Dave Kim")
    assert dave_row[0] == "Participant 5003"
    assert float(dave_row[3]) == pytest.approx(final["dave"], abs=0.006)
    assert dave_row[5].startswith("submitted 10 h 1 min late: late penalty -")
    checks = read_csv(root / "exports" / "checks.csv")
    assert checks[0][-1] == "message"
    assert any(row[-1] for row in checks[1:] if row[0] == "bob")

    assert main(["report"]) == 0
    page = (root / "reports" / ASSIGNMENT / "report.html").read_text(encoding="utf-8")
    assert '<h2 id="late">Late submissions</h2>' in page
    assert "<tr><td>dave</td><td>10 h 1 min late</td>" in page
    assert "ran student code under bubblewrap" in page or "under rlimits" in page

    # -- feedback archives -----------------------------------------------------------------------
    assert main(["feedback", "--lms", "moodle"]) == 0
    archives = root / "exports" / "feedback" / ASSIGNMENT
    assert sorted(p.name for p in archives.glob("*.zip")) == [
        "alice.zip",
        "bob.zip",
        "dave.zip",
        f"{ASSIGNMENT}_feedback_moodle.zip",
    ]
    with zipfile.ZipFile(archives / "dave.zip") as archive:
        names = archive.namelist()
        pages = {f"{ASSIGNMENT}/{nb.replace('.ipynb', '.html')}" for nb in (NB1, NB2, NB3)}
        assert pages <= set(names), names  # with the release's other files (mlp_helpers.py)
        page = archive.read(f"{ASSIGNMENT}/{NB1.replace('.ipynb', '.html')}").decode()
        assert "Late submission penalty" in page
    with zipfile.ZipFile(archives / f"{ASSIGNMENT}_feedback_moodle.zip") as archive:
        assert f"Dave Kim_5003_assignsubmission_file_/{NB1.replace('.ipynb', '.html')}" in (
            archive.namelist()
        )

    # -- a grader change, then a regrade: only what changed is recorded and regenerated -----------
    tolerances = root / "grader_tests" / "tolerances.py"
    tolerances.write_text(
        tolerances.read_text().replace("BY_HAND_ATOL = 1e-3", "BY_HAND_ATOL = 0.0"),
        encoding="utf-8",
    )
    scores_before = all_scores(course)
    feedback_times = {
        s: (root / "feedback" / s / ASSIGNMENT / NB1.replace(".ipynb", ".html")).stat().st_mtime
        for s in ("alice", "bob", "dave")
    }
    assert main(["autograde", "--jobs", "1", "--grades-only"]) == 0, capsys.readouterr()
    scores_after = all_scores(course)
    moved = {key: (scores_before[key], value) for key, value in scores_after.items()}
    moved = {key: pair for key, pair in moved.items() if pair[0] != pair[1]}
    assert moved, "the stricter grader changed no grade"
    runs = sorted((root / ".gradekit" / ASSIGNMENT / "runs").iterdir())
    assert len(runs) == 2
    assert all(
        (run / "summary.json").is_file() and (run / "autograde.log").is_file() for run in runs
    )
    run_changes = read_csv(runs[-1] / "changes.csv")
    cells = {
        (row[1], row[2]): (float(row[3]), float(row[4]))
        for row in run_changes[1:]
        if row[2] != "late penalty"
    }
    assert cells == {key: pair for key, pair in moved.items()}
    assert {row[5] for row in run_changes[1:]} == {"graders changed"}
    changed = {student for student, _ in moved}
    assert main(["feedback", "--changed"]) == 0
    for student, when in feedback_times.items():
        page = root / "feedback" / student / ASSIGNMENT / NB1.replace(".ipynb", ".html")
        assert (page.stat().st_mtime > when) == (student in changed), student
    # The manual grade survived the regrade; no submitted file was lost.
    assert scores_after[("alice", f"{NB3.removesuffix('.ipynb')}/{REFLECTION}")] == 1.5
    assert submitted_digests <= kept_files(course)
    assert main(["status"]) == 0
    assert "3 collected, 3 graded (0 stale), 1 late, 1 graded by hand" in capsys.readouterr().out
