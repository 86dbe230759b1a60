"""The committed student release: in sync with the source, free of solutions and hidden tests."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from gradekit.checks.grading import count_checks
from gradekit.core.notebook import read_notebook
from gradekit.nbgrader.course import HIDDEN_COUNT, Course

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "mlp_from_scratch"
RELEASE = ROOT / "release" / ASSIGNMENT
SOURCE = ROOT / "source" / ASSIGNMENT
#: Markers that only the instructor's version may contain.
INSTRUCTOR_ONLY = [
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS",
    "MARK SCHEME",
    "grade_cell(",
]
#: Lines shorter than this (``return x``, ``pass``) are too generic to count as a leaked solution.
DISTINCTIVE = 25


def source_notebooks() -> list[Path]:
    return sorted(SOURCE.glob("*.ipynb"))


def release_files() -> list[Path]:
    return sorted(path for path in RELEASE.iterdir() if path.is_file())


def regions(text: str, begin: str, end: str) -> list[str]:
    pattern = re.compile(rf"^[ \t]*#*[= ]*{begin}.*?$(.*?)^[ \t]*#*[= ]*{end}", re.M | re.S)
    return [match.group(1) for match in pattern.finditer(text)]


def distinctive_lines(text: str) -> set[str]:
    lines = {line.strip() for line in text.splitlines()}
    return {line for line in lines if len(line) >= DISTINCTIVE and not line.startswith("#")}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """``nbgrader generate_assignment`` run on a copy of the course."""
    course_dir = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course_dir)
    shutil.copytree(SOURCE, course_dir / "source" / ASSIGNMENT)
    course = Course.find(course_dir)
    result = course.api().generate_assignment(ASSIGNMENT, force=True, create=True)
    assert result["success"], result.get("error")
    return course.path("release", assignment=ASSIGNMENT)


def test_committed_release_matches_a_fresh_generation(regenerated):
    fresh = sorted(path.name for path in regenerated.iterdir())
    assert [path.name for path in release_files()] == fresh
    for name in fresh:
        assert (RELEASE / name).read_bytes() == (regenerated / name).read_bytes(), (
            f"release/{ASSIGNMENT}/{name} is out of date: run `make release` and commit it"
        )


@pytest.mark.parametrize("marker", INSTRUCTOR_ONLY)
def test_release_has_no_instructor_markers(marker):
    for path in release_files():
        assert marker not in path.read_text(encoding="utf-8"), f"{marker!r} in {path.name}"


@pytest.mark.parametrize("source", source_notebooks(), ids=lambda path: path.stem[:2])
def test_release_has_no_solution_or_hidden_test_code(source):
    text = nbformat.read(source, as_version=4)
    hidden = set()
    for cell in text.cells:
        for begin, end in [
            ("BEGIN SOLUTION", "END SOLUTION"),
            ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
        ]:
            for region in regions(cell.source, begin, end):
                hidden |= distinctive_lines(region)
        for region in regions(cell.source, "BEGIN MARK SCHEME", "END MARK SCHEME"):
            hidden |= distinctive_lines(region)
    released = (RELEASE / source.name).read_text(encoding="utf-8")
    leaked = sorted(line for line in hidden if line in released)
    assert not leaked, f"instructor-only lines in the release: {leaked[:3]}"


def given_to_students() -> set[str]:
    """Lines the source notebooks show students on purpose (outside every instructor region)."""
    given = set()
    for source in source_notebooks():
        for cell in nbformat.read(source, as_version=4).cells:
            text = cell.source
            for begin, end in [
                ("BEGIN SOLUTION", "END SOLUTION"),
                ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
            ]:
                for region in regions(text, begin, end):
                    text = text.replace(region, "")
            given |= distinctive_lines(text)
    return given


def test_release_has_no_reference_code():
    reference = set()
    for module in (ROOT / "reference_impl").glob("*.py"):
        reference |= {
            line
            for line in distinctive_lines(module.read_text(encoding="utf-8"))
            if not line.startswith(("import ", "from ", '"""', "def ", "class ", "Args", "Returns"))
        }
    reference -= given_to_students()  # e.g. the super() calls of the NeuralNetworkL2 skeleton
    for path in release_files():
        text = path.read_text(encoding="utf-8")
        leaked = sorted(line for line in reference if line in text)
        assert not leaked, f"reference code in {path.name}: {leaked[:3]}"


@pytest.mark.parametrize("source", source_notebooks(), ids=lambda path: path.stem[:2])
def test_every_test_cell_tells_students_its_hidden_check_count(source):
    notebook = read_notebook(RELEASE / source.name)
    counts = count_checks(ROOT / "grader_tests", notebook.autograded_ids)
    for cell in notebook.cells:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id not in counts:
            continue
        match = HIDDEN_COUNT.search(cell["source"])
        assert match, f"test cell {grade_id} does not say how many hidden checks it has"
        stated = int(re.search(r"\d+", match.group(0)).group(0))
        assert stated == counts[grade_id] > 0, (
            f"test cell {grade_id} announces {stated} hidden checks, the suite has "
            f"{counts[grade_id]}: run `make release`"
        )
