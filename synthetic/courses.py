"""Copies of the repository's course for tests and the benchmark (its gradebook is never touched).

:func:`copy_course` makes a course folder with this repository's configuration and source, the
chosen submissions, and the graders and reference linked in, and generates the release (which
records the assignment in the copy's own gradebook).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from gradekit.nbgrader.course import Course

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "mlp_from_scratch"
LINKED = ("grader_tests", "reference_impl", "assignments")


def copy_course(
    folder: Path,
    *,
    students: Iterable[str] | None = None,
    config: str = "",
    assignment: str | None = ASSIGNMENT,
) -> Course:
    """A copy of the course in ``folder`` with ``assignment`` released (unless None) and the
    bundled submissions of ``students`` (default: all of them); ``config`` is appended to
    ``nbgrader_config.py``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    (folder / "nbgrader_config.py").write_text(text + config, encoding="utf-8")
    shutil.copytree(ROOT / "source", folder / "source")
    submitted = folder / "submitted"
    submitted.mkdir()
    chosen = students if students is not None else _bundled_students()
    for student in chosen:
        shutil.copytree(ROOT / "submitted" / student, submitted / student)
    for name in LINKED:
        (folder / name).symlink_to(ROOT / name)
    course = Course.find(folder)
    if assignment is not None:
        with quiet_gradebook():
            result = course.api().generate_assignment(assignment, force=True, create=True)
        assert result["success"], result.get("error")
    return course


def clone_course(course: Course, folder: Path) -> Course:
    """A copy of ``course`` (gradebook, submissions and autograded notebooks included) in
    ``folder``, for a test that changes what it grades."""
    shutil.copytree(course.root, folder, symlinks=True)
    return Course.find(folder)


def autograde_with_nbgrader(
    course: Course, students: Iterable[str], assignment: str = ASSIGNMENT
) -> None:
    """Plain ``nbgrader autograde`` (nbgrader's API with the course's configuration)."""
    api = course.api()
    for student in students:
        with quiet_gradebook():
            result = api.autograde(assignment, student, force=True, create=True)
        assert result["success"], result.get("error")


@contextlib.contextmanager
def quiet_gradebook() -> Iterator[None]:
    """nbgrader's gradebook code warns (SQLAlchemy autoflush) in normal operation."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


def _bundled_students() -> list[str]:
    return sorted(p.name for p in (ROOT / "submitted").iterdir() if p.is_dir())


def grades(
    course: Course, student: str, assignment: str = ASSIGNMENT
) -> dict[str, tuple[float, float]]:
    """grade id -> (auto score, max score) of every autograded cell in the gradebook."""
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        return {
            grade.name: (grade.auto_score, grade.max_score)
            for notebook in submission.notebooks
            for grade in notebook.grades
            if grade.auto_score is not None
        }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
