"""Hostile and broken submissions, graded with the kit's configuration: each scores exactly what
its honest code deserves, and a batch survives all of them.

The attacks on the grade (``synthetic.attacks.ATTACKS``) go through plain ``nbgrader autograde``;
the inputs that could break a batch (``BAD_INPUTS``) go through one ``gradekit autograde`` batch
with two workers. Expected grades come from the trusted graders alone, run here on the same code
without the attack (``Hostile.honest_notebook``).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from gradekit.batch.dask_run import BatchSummary, StudentRun, autograde_class
from gradekit.checks.grading import SuiteSessions, grade_notebook
from gradekit.checks.pytest_plugin import support_files
from gradekit.core.notebook import as_nbformat, notebook_from_dict
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.results import read_results
from gradekit.sandbox.isolation import choose_isolation
from gradekit.sandbox.limits import Limits
from synthetic.attacks import ATTACKS, BAD_INPUTS, Hostile, grade_cell_index
from synthetic.banks import NB1, NB2, student_notebook
from synthetic.courses import (
    ASSIGNMENT,
    autograde_with_nbgrader,
    copy_course,
    grades,
    quiet_gradebook,
)

pytestmark = pytest.mark.slow

#: Shorter limits than the course's, so that the infinite loops cost seconds, not minutes.
TEST_LIMITS = (
    "c.Execute.timeout = 10\nc.GradeKit.call_timeout = 5.0\nc.GradeKit.statement_timeout = 5.0\n"
)


NAMESPACES = choose_isolation().name == "bubblewrap"
#: Attacks on the course's files are defended by bubblewrap's namespaces only: without them they
#: are not even run (the README's security model says so).
GRADED_ATTACKS = [hostile for hostile in ATTACKS if NAMESPACES or not hostile.needs_namespaces]


def write_submissions(course: Course, hostiles: list[Hostile]) -> None:
    for hostile in hostiles:
        folder = course.path("submitted", assignment=ASSIGNMENT, student=hostile.student)
        hostile.write(folder, course.root)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory) -> Course:
    course = copy_course(tmp_path_factory.mktemp("attacked"), students=(), config=TEST_LIMITS)
    write_submissions(course, GRADED_ATTACKS)
    autograde_with_nbgrader(course, [hostile.student for hostile in GRADED_ATTACKS])
    return course


@pytest.fixture(scope="module")
def bad_batch(tmp_path_factory) -> tuple[Course, BatchSummary]:
    course = copy_course(tmp_path_factory.mktemp("bad-inputs"), students=(), config=TEST_LIMITS)
    write_submissions(course, BAD_INPUTS)
    with quiet_gradebook():
        summary = autograde_class(course=course, assignment=ASSIGNMENT, jobs=2)
    return course, summary


#: (suite, limits, support files, notebook) -> grade id -> points. Most hostile submissions share
#: their honest code (the broken relu, or the solutions unchanged): each is graded once per process.
_HONEST: dict[tuple[Path, Limits, frozenset[tuple[str, str]], str], dict[str, float]] = {}


def honest_points(
    course: Course, hostile: Hostile, notebook: str, sessions: SuiteSessions
) -> dict[str, float]:
    """What the trusted graders give the honest code of ``notebook``: grade id -> points."""
    nb = as_nbformat(
        (hostile.honest_notebook() if notebook == hostile.notebook else None)
        or student_notebook(None, notebook)
    )
    suite = course.suite(ASSIGNMENT).resolve()
    limits = course.settings.limits()
    files = support_files(course.path("source", assignment=ASSIGNMENT))
    key = (suite, limits, frozenset(files.items()), json.dumps(nb, sort_keys=True))
    if key not in _HONEST:
        result = grade_notebook(
            notebook=notebook_from_dict(nb, name=notebook),
            suite=suite,
            support_files=files,
            limits=limits,
            sessions=sessions,
        )
        _HONEST[key] = {grade_id: item.points for grade_id, item in result.items.items()}
    return _HONEST[key]


def stored_points(course: Course, student: str, cells: dict[str, float]) -> dict[str, float]:
    stored = grades(course, student)
    return {grade_id: stored[grade_id][0] for grade_id in cells}


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(
            hostile,
            id=hostile.id,
            marks=pytest.mark.skipif(
                hostile not in GRADED_ATTACKS, reason="needs bubblewrap's namespaces"
            ),
        )
        for hostile in ATTACKS
    ],
)
def test_attack_scores_what_its_honest_code_deserves(attacked, hostile, suite_sessions):
    expected = honest_points(attacked, hostile, hostile.notebook, suite_sessions)
    assert stored_points(attacked, hostile.student, expected) == expected


def test_the_attacks_needed_their_honest_bug(attacked, suite_sessions):
    """Most attacks hide a broken relu: without the attack it must cost points (else the attack
    tests would prove nothing)."""
    expected = honest_points(attacked, ATTACKS[0], NB1, suite_sessions)
    assert expected["activations"] < 3


@pytest.mark.skipif(not NAMESPACES, reason="needs bubblewrap's namespaces")
def test_reading_the_graders_shows_nothing_of_them(attacked):
    folder = attacked.path("autograded", assignment=ASSIGNMENT, student="attack-reads-the-graders")
    text = (folder / f"{NB1}.ipynb").read_text(encoding="utf-8")
    assert "graders found: 0" in text
    assert "def test_" not in text and "check_close" not in text


def test_torch_autograd_in_backward_is_flagged(attacked):
    folder = attacked.path(
        "autograded", assignment=ASSIGNMENT, student="attack-autograd-in-backward"
    )
    result = read_results(nbformat.read(folder / f"{NB2}.ipynb", as_version=4))
    assert result is not None
    assert result.items["nn_backward"].forbidden
    assert result.items["nn_backward"].points == 0


def test_printed_scores_are_replaced_by_the_trusted_feedback(attacked):
    folder = attacked.path("autograded", assignment=ASSIGNMENT, student="attack-printed-fake-score")
    nb = nbformat.read(folder / f"{NB1}.ipynb", as_version=4)
    activations = nb.cells[grade_cell_index(nb, "activations")]
    assert [output.output_type for output in activations.outputs] == ["stream", "execute_result"]
    assert activations.outputs[0].text.startswith("Graded outside your notebook")
    assert float(activations.outputs[1].data["text/plain"]) < 3


# -- bad input ---------------------------------------------------------------------------------


def run_of(summary: BatchSummary, student: str) -> StudentRun:
    return next(run for run in summary.runs if run.student == student)


@pytest.mark.parametrize("hostile", BAD_INPUTS, ids=lambda hostile: hostile.id)
def test_bad_input_costs_only_what_it_breaks(bad_batch, hostile, suite_sessions):
    course, summary = bad_batch
    run = run_of(summary, hostile.student)
    assert run.status == "graded", run.problems
    for notebook in (hostile.notebook, *hostile.others):
        expected = honest_points(course, hostile, notebook, suite_sessions)
        if hostile.raw is not None and notebook == hostile.notebook:
            expected = dict.fromkeys(expected, 0.0)  # not a notebook: nothing to grade
        assert stored_points(course, hostile.student, expected) == expected, notebook
    if hostile.kernel_problem:
        assert any(hostile.kernel_problem in problem for problem in run.problems), run.problems


def test_points_come_from_the_source_not_the_submission(bad_batch):
    course, _ = bad_batch
    stored = grades(course, "attack-changed-metadata-and-points")
    assert stored["activations"] == (3.0, 3.0)
    assert stored["derivatives"][1] == 4.0
    assert "my_derivatives" not in stored


def test_the_summary_says_what_happened_to_whom(bad_batch):
    _, summary = bad_batch
    assert not summary.failed
    unreadable = run_of(summary, "attack-not-json").problems
    assert any("could not be read" in problem for problem in unreadable), unreadable
    assert run_of(summary, "attack-control").problems == []
