"""docs/writing_graders.md, followed literally: its files, notebook cells and configuration are
written into a copy of the course, the new assignment is released, and a correct and a wrong
submission are graded by ``gradekit autograde`` with the points and the message the guide shows.

The commands run as the guide says, each in a process of its own (the copy's ``assignments``
package must not meet the repository's in this test process)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from gradekit.nbgrader.course import Course
from synthetic.courses import ROOT, copy_course, grades

pytestmark = pytest.mark.slow

GUIDE = ROOT / "docs" / "writing_graders.md"
BLOCK = re.compile(r"```python (?P<info>[^\n]*)\n(?P<body>.*?)```", re.DOTALL)
ASSIGNMENT = "mse"
NOTEBOOK = "mse.ipynb"
#: What the guide's wrong submission changes (its "forgets the factor 2").
WITHOUT_FACTOR_TWO = ("return 2 * (y_pred - y) / np.size(y)", "return (y_pred - y) / np.size(y)")


def blocks(kind: str) -> list[tuple[dict[str, str], str]]:
    """The guide's ``python`` blocks whose info string starts with ``kind`` (its words parsed as
    ``key=value`` or flags)."""
    found = []
    for match in BLOCK.finditer(GUIDE.read_text(encoding="utf-8")):
        words = match["info"].split()
        if words and words[0].split("=")[0] == kind:
            info = dict(word.split("=", 1) if "=" in word else (word, "") for word in words)
            found.append((info, match["body"]))
    return found


def notebook_from_guide() -> nbformat.NotebookNode:
    cells = []
    for info, body in blocks("cell"):
        meta = {
            "grade_id": info["cell"],
            "grade": "grade" in info,
            "solution": "solution" in info,
            "locked": "solution" not in info,
            "schema_version": 3,
            "task": False,
        }
        if "points" in info:
            meta["points"] = int(info["points"])
        cells.append(new_code_cell(body.rstrip("\n"), metadata={"nbgrader": meta}))
    return new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )


def follow_the_guide(folder: Path) -> Course:
    course = copy_course(folder, students=[], assignment=None)
    linked = course.root / "assignments"
    linked.unlink()  # a copy: the guide adds files to it
    shutil.copytree(ROOT / "assignments", linked, ignore=shutil.ignore_patterns("__pycache__"))
    for info, body in blocks("file"):
        path = course.root / info["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    with (course.root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        for _, body in blocks("config"):
            config.write(body)
    (course.root / "source" / ASSIGNMENT).mkdir()
    nbformat.write(notebook_from_guide(), course.root / "source" / ASSIGNMENT / NOTEBOOK)
    gradekit(course, "release", "--assignment", ASSIGNMENT)
    return Course.find(course.root)


def gradekit(course: Course, *args: str) -> None:
    """A ``gradekit`` command, as the guide runs it, in the course folder."""
    command = [str(Path(sys.executable).parent / "gradekit"), *args]
    done = subprocess.run(command, cwd=course.root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def hand_in(course: Course, student: str, edit: tuple[str, str] | None) -> None:
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(course.root / "source" / ASSIGNMENT / NOTEBOOK, 4).cells
    }
    nb = nbformat.read(course.root / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.metadata["nbgrader"].get("solution"):
            text = solutions[cell.metadata["nbgrader"]["grade_id"]]
            if edit:
                assert edit[0] in text
                text = text.replace(*edit)
            cell.source = "\n".join(line for line in text.splitlines() if "### " not in line)
    folder = Path(course.path("submitted", assignment=ASSIGNMENT, student=student))
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / NOTEBOOK)


def graded_cell_output(course: Course, student: str) -> str:
    path = Path(course.path("autograded", assignment=ASSIGNMENT, student=student)) / NOTEBOOK
    cell = next(
        c
        for c in nbformat.read(path, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == ASSIGNMENT
    )
    return "".join(output.get("text", "") for output in cell.outputs)


def test_the_guide_gives_an_assignment_the_engine_grades(tmp_path: Path) -> None:
    course = follow_the_guide(tmp_path / "course")
    released = (course.root / "release" / ASSIGNMENT / NOTEBOOK).read_text(encoding="utf-8")
    assert "Hidden checks: 6 more checks" in released
    assert "2 * (y_pred - y)" not in released
    hand_in(course, "correct", None)
    hand_in(course, "no_factor_two", WITHOUT_FACTOR_TWO)
    gradekit(course, "autograde", "--assignment", ASSIGNMENT, "--jobs", "1")
    assert grades(course, "correct", ASSIGNMENT) == {"mse": (2.0, 2.0)}
    assert grades(course, "no_factor_two", ASSIGNMENT)["mse"][0] == 1.0
    assert "Likely mistake: the factor 2 is missing" in graded_cell_output(course, "no_factor_two")
