"""gradekit.checks.grading: one notebook's checks, run in a pytest session that outlives the
notebook."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gradekit.checks.grading import GradingError, SuiteSessions, grade_notebook
from gradekit.core.notebook import notebook_from_dict
from gradekit.sandbox.channels import InProcessChannel
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.worker import Worker

#: A small suite: one grade cell, two checks; every collection leaves a line in a log file.
CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def submission(load_submission):
    return load_submission()

def pytest_collection_finish(session):
    with open(LOG, "a") as log:
        log.write("collected\\n")
"""
CHECKS = """
import pytest
from gradekit.sandbox.student import Student

pytestmark = pytest.mark.grade_cell("double")

def test_double_of_two(submission):
    assert_equal(Student(submission).call("double", 2), 4)

@pytest.mark.weight(3)
def test_double_of_a_list(submission):
    assert_equal(Student(submission).call("double", [1]), [1, 1])

def test_worker_is_fresh(submission):
    assert_equal(Student(submission).call("calls"), 1)

def assert_equal(got, expected):
    if got != expected:
        pytest.fail(f"expected {expected!r}, got {got!r}", pytrace=False)
"""
CORRECT = """
calls_made = 0

def double(x):
    return x * 2

def calls():
    global calls_made
    calls_made += 1
    return calls_made
"""
BUGGY = CORRECT.replace("return x * 2", "return x + x if isinstance(x, int) else x")


def make_suite(folder: Path, checks: str = CHECKS) -> Path:
    """A check suite package with a unique name (pytest imports its modules by package); it
    logs its collections to ``collections.log`` in ``folder``."""
    suite = folder / f"suite_{uuid.uuid4().hex[:8]}"
    suite.mkdir()
    (suite / "__init__.py").write_text("")
    log = folder / "collections.log"
    (suite / "conftest.py").write_text(f"LOG = {str(log)!r}\n{CONFTEST}")
    (suite / "test_double.py").write_text(checks)
    return suite


def notebook(code: str, name: str = "nb"):
    grade_cell = {
        "cell_type": "code",
        "source": "# checks",
        "metadata": {"nbgrader": {"grade": True, "grade_id": "double", "points": 4}},
    }
    return notebook_from_dict(
        {"cells": [{"cell_type": "code", "source": code, "metadata": {}}, grade_cell]}, name=name
    )


@pytest.fixture
def sessions() -> Iterator[SuiteSessions]:
    """The suite sessions of one test (closed after it)."""
    with SuiteSessions() as sessions:
        yield sessions


def grade(suite: Path, code: str, tmp_path: Path, sessions: SuiteSessions):
    return grade_notebook(
        notebook=notebook(code),
        suite=suite,
        support_files={},
        limits=Limits(preload=("numpy",)),
        sessions=sessions,
        start_channel=lambda: InProcessChannel(Worker(workdir=tmp_path)),
    )


def test_a_named_mistake_is_a_field_of_the_checks_result(tmp_path, sessions):
    checks = CHECKS.replace(
        'pytest.fail(f"expected {expected!r}, got {got!r}", pytrace=False)',
        'check_true(False, f"expected {expected!r}, got {got!r}", mistake="x + x")',
    ).replace("import pytest\n", "import pytest\nfrom gradekit.core.compare import check_true\n", 1)
    item = grade(make_suite(tmp_path, checks), BUGGY, tmp_path, sessions).items["double"]
    assert [(check.passed, check.mistake) for check in item.checks] == [
        (True, ""),
        (False, "x + x"),
        (True, ""),
    ]
    assert item.checks[1].message == "expected [1, 1], got [1]. Likely mistake: x + x."


def test_points_come_from_the_checks_weights(tmp_path, sessions):
    suite = make_suite(tmp_path)
    item = grade(suite, BUGGY, tmp_path, sessions).items["double"]
    assert [check.passed for check in item.checks] == [True, False, True]
    assert item.points == pytest.approx(4 * 2 / 5)
    assert "expected [1, 1], got [1]" in item.checks[1].message


def test_the_suite_is_collected_once_for_many_notebooks(tmp_path, sessions):
    suite = make_suite(tmp_path)
    for _ in range(3):
        grade(suite, CORRECT, tmp_path, sessions)
    assert (tmp_path / "collections.log").read_text().splitlines() == ["collected"]


def test_each_notebook_gets_a_new_student_process_and_its_own_results(tmp_path, sessions):
    """The session-scoped fixtures are torn down after every notebook: the next one is loaded
    into a new process (``calls`` counts from 1 again) and nothing of the previous results stays.
    """
    suite = make_suite(tmp_path)
    points = [grade(suite, code, tmp_path, sessions).points for code in (CORRECT, BUGGY, CORRECT)]
    assert points == [4.0, pytest.approx(1.6), 4.0]


def test_a_suite_that_cannot_be_collected_fails_until_it_is_fixed(tmp_path, sessions):
    suite = make_suite(tmp_path, checks="def broken(:\n")
    for _ in range(2):
        with pytest.raises(GradingError, match="could not be collected"):
            grade(suite, CORRECT, tmp_path, sessions)
    (suite / "test_double.py").write_text(CHECKS)
    assert grade(suite, CORRECT, tmp_path, sessions).points == 4.0


def test_links_to_one_suite_share_its_session(tmp_path, sessions):
    suite = make_suite(tmp_path)
    link = tmp_path / "linked"
    link.symlink_to(suite)
    assert sessions.of(link) is sessions.of(suite)


class BreaksTheSession:
    """Stands in for a notebook's GradingSession and fails outside any check."""

    def select(self, items):
        raise RuntimeError("a problem of the kit, outside every check")


def test_a_broken_session_fails_its_notebook_and_is_replaced(tmp_path, sessions):
    suite = make_suite(tmp_path)
    broken = sessions.of(suite)
    with pytest.raises(GradingError, match="broke"):
        broken.run(BreaksTheSession())
    with pytest.raises(GradingError, match="stopped"):
        broken.run(BreaksTheSession())  # queued after the session stopped
    assert sessions.of(suite) is not broken
    assert grade(suite, CORRECT, tmp_path, sessions).points == 4.0
