"""The command line on the tiny course: ``release`` (hidden-check counts, stubs) and ``status``,
in this process (no kernel, no grading worker). The commands that grade are tested on this course
in ``tests/integration/test_cli.py`` and ``test_term.py``."""

from __future__ import annotations

import nbformat
import pytest

from gradekit.cli.main import main
from gradekit.core.cells import grade_id
from gradekit.nbgrader.course import Course
from tests.unit.fixtures import ASSIGNMENT, NOTEBOOK


def sources(course: Course, step: str) -> dict[str, str]:
    """grade id -> source of every cell of the tiny notebook in ``step`` (source, release)."""
    path = course.path(step, assignment=ASSIGNMENT) / f"{NOTEBOOK}.ipynb"
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    return {grade_id(cell): cell.source for cell in notebook.cells}


def test_release_counts_the_hidden_checks_and_stubs_the_solutions(
    tiny_course: Course, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tiny_course.path("source", assignment=ASSIGNMENT) / f"{NOTEBOOK}.ipynb"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("3 more checks run", "9 more checks run"), encoding="utf-8")

    assert main(["release", "--course", str(tiny_course.root)]) == 0

    assert f"updated hidden-check counts in {NOTEBOOK}.ipynb" in capsys.readouterr().out
    assert "3 more checks run" in sources(tiny_course, "source")["normalize"]
    released = sources(tiny_course, "release")
    assert "# Hidden checks: 2 more checks run" in released["l2_norm"]
    assert "# Hidden checks: 3 more checks run" in released["normalize"]
    assert all("HIDDEN TESTS" not in source for source in released.values())
    assert "raise NotImplementedError()" in released["l2_norm_solution"]
    assert "np.sqrt" not in released["l2_norm_solution"]


def test_status_counts_each_step(tiny_course: Course, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["release", "--course", str(tiny_course.root)]) == 0
    capsys.readouterr()
    assert main(["status", "--course", str(tiny_course.root)]) == 0
    assert capsys.readouterr().out.strip().splitlines() == [
        f"{ASSIGNMENT}: released, 0 collected, 0 graded (0 stale), 0 late, 0 graded by hand "
        "(0 waiting), feedback for 0"
    ]
