"""Issue 15's findings, each a real submission through ``nbgrader autograde`` and through a 2-job
``gradekit autograde``: all fail on the kit before the issue (2a5ac22) and pass now.

All findings and the honest victims graded after them go through one nbgrader run (in order:
findings first) and one batch, so the whole file costs a few minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from gradekit.batch.dask_run import BatchSummary, StudentRun, autograde_class
from gradekit.checks.grading import SuiteSessions
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.results import read_results
from gradekit.sandbox import leftovers
from gradekit.sandbox.isolation import choose_isolation
from synthetic.banks import NB1
from synthetic.courses import ASSIGNMENT, copy_course, grades, quiet_gradebook
from synthetic.findings import BUDGET, FINDINGS, STALL_CELLS, VICTIMS, by_id
from tests.integration.test_attacks import honest_points, stored_points, write_submissions

# f3 measures a submission's wall time against its budget, f7 looks for every dead creator's
# cgroup on the machine: the whole module runs alone, after the others (`make test`).
pytestmark = [pytest.mark.slow, pytest.mark.timed]

NAMESPACES = choose_isolation().name == "bubblewrap"
#: The hydra kills every process it can see: only ever run inside a PID namespace of its own.
GRADED = [h for h in FINDINGS if NAMESPACES or h.id != "f1-hydra"] + VICTIMS
CONFIG = (
    "c.Execute.timeout = 10\nc.GradeKit.call_timeout = 5.0\nc.GradeKit.statement_timeout = 5.0\n"
    f"c.GradeKit.submission_budget = {BUDGET}\nc.GradeKit.max_output_mb = 1\n"
)
#: What a submission may take past its budget: the kernel's interrupted cell, storing the
#: grades, and (nbgrader) the sanitizing steps.
BUDGET_SLACK = 25


def _modes(course: Course) -> dict[str, int]:
    return {
        name: stat.S_IMODE((course.root / name).stat().st_mode)
        for name in (".", "release", "source")
    }


@pytest.fixture(scope="module")
def with_nbgrader(tmp_path_factory) -> tuple[Course, dict[str, float], dict[str, int]]:
    course = copy_course(tmp_path_factory.mktemp("findings-nbgrader"), students=(), config=CONFIG)
    write_submissions(course, GRADED)
    modes = _modes(course)
    api, seconds = course.api(), {}
    for hostile in GRADED:
        started = time.monotonic()
        with quiet_gradebook():
            result = api.autograde(ASSIGNMENT, hostile.student, force=True, create=True)
        seconds[hostile.student] = time.monotonic() - started
        assert result["success"], (hostile.student, result.get("error"))
    return course, seconds, modes


@pytest.fixture(scope="module")
def with_batch(tmp_path_factory) -> tuple[Course, BatchSummary, dict[str, int]]:
    course = copy_course(tmp_path_factory.mktemp("findings-batch"), students=(), config=CONFIG)
    write_submissions(course, GRADED)
    modes = _modes(course)
    with quiet_gradebook():
        summary = autograde_class(course=course, assignment=ASSIGNMENT, jobs=2)
    return course, summary, modes


@pytest.fixture(params=["nbgrader", "batch"])
def graded(request, with_nbgrader, with_batch) -> tuple[str, Course, dict[str, int]]:
    if request.param == "nbgrader":
        course, _, modes = with_nbgrader
    else:
        course, _, modes = with_batch
    return request.param, course, modes


def run_of(summary: BatchSummary, student: str) -> StudentRun:
    return next(run for run in summary.runs if run.student == student)


def autograded_text(course: Course, student: str) -> str:
    folder = course.path("autograded", assignment=ASSIGNMENT, student=student)
    return (folder / f"{NB1}.ipynb").read_text(encoding="utf-8")


def results(course: Course, student: str):
    result = read_results(nbformat.reads(autograded_text(course, student), as_version=4))
    assert result is not None
    return result


def scores_honestly(course: Course, id: str, sessions: SuiteSessions) -> None:
    hostile = by_id(id)
    expected = honest_points(course, hostile, NB1, sessions)
    assert stored_points(course, hostile.student, expected) == expected


@pytest.mark.skipif(not NAMESPACES, reason="needs bubblewrap's namespaces")
def test_f1_no_process_outlives_its_student(graded, suite_sessions):
    _, course, _ = graded
    for victim in VICTIMS:
        scores_honestly(course, victim.id, suite_sessions)
        result = results(course, victim.student)
        assert not [i for i in result.incidents if "crash" in i], result.incidents
    assert "fork server memory: OPENED" not in autograded_text(course, "attack-f1-hydra")


def test_f2_no_reference_version_of_a_graded_item_is_reachable(graded, suite_sessions):
    _, course, _ = graded
    points = stored_points(course, "attack-f2-aliases-the-reference", {"activations": 0})
    honest = honest_points(course, by_id("f2-aliases-the-reference"), NB1, suite_sessions)[
        "activations"
    ]
    top = grades(course, "attack-f2-aliases-the-reference")["activations"][1]
    assert points["activations"] <= honest < top
    # Its checks ran: no points because the defence held, not because its time ran out.
    checks = results(course, "attack-f2-aliases-the-reference").items["activations"].checks
    assert checks and all("time budget" not in check.message for check in checks), checks


def test_f3_a_stalling_submission_fails_alone_within_its_budget(
    with_nbgrader, with_batch, suite_sessions
):
    _, seconds, _ = with_nbgrader
    course, summary, _ = with_batch
    assert seconds["attack-f3-stalls"] < BUDGET + BUDGET_SLACK  # 9 s x 12 cells without it
    run = run_of(summary, "attack-f3-stalls")
    assert run.status == "graded" and run.seconds < BUDGET + BUDGET_SLACK
    reason = f"used up its time budget of {BUDGET} s"
    assert any(reason in problem for problem in run.problems), run.problems
    for folder in (with_nbgrader[0], course):
        result = results(folder, "attack-f3-stalls")
        assert any(reason in problem for problem in result.execution_problems)
        # Its own checks may be cut by the budget too; it never gains from stalling.
        expected = honest_points(folder, by_id("f3-stalls"), NB1, suite_sessions)
        stored = stored_points(folder, "attack-f3-stalls", expected)
        assert all(stored[cell] <= expected[cell] for cell in expected)
    assert STALL_CELLS * 9 > BUDGET + BUDGET_SLACK
    assert all(run.status == "graded" for run in summary.runs)


def test_f4_crafted_type_names_neither_leak_nor_bloat_the_feedback(graded, suite_sessions):
    _, course, _ = graded
    text = autograded_text(course, "attack-f4-leaky-names")
    feedback = json.dumps(results(course, "attack-f4-leaky-names").to_json())
    assert "LEAK" not in feedback  # the names were built from the hidden inputs
    # The kernel's error outputs count toward the output limit (1 MiB here).
    assert len(text) < len(autograded_text(course, "attack-victim-0")) + 1.5 * 1024 * 1024
    scores_honestly(course, "f4-leaky-names", suite_sessions)


def test_f5_host_folders_are_untouched_by_links_made_in_the_sandbox(graded, suite_sessions):
    _, course, modes = graded
    assert _modes(course) == modes
    assert (course.root / "release" / ASSIGNMENT / f"{NB1}.ipynb").is_file()
    scores_honestly(course, "f5-links", suite_sessions)


def test_f6_honest_code_is_not_hurt_by_the_defences(graded, suite_sessions):
    _, course, _ = graded
    scores_honestly(course, "f6-local-nn", suite_sessions)
    earned, top = grades(course, "attack-f6-local-nn")["activations"]
    assert earned == top > 0  # the local `nn` costs nothing
    scores_honestly(course, "f6-grade-flag", suite_sessions)
    result = results(course, "attack-f6-grade-flag")
    assert any("restored" in incident for incident in result.incidents), result.incidents


def test_every_victim_is_graded_honestly(graded, suite_sessions):
    _, course, _ = graded
    for victim in VICTIMS:
        scores_honestly(course, victim.id, suite_sessions)


# -- finding 7b: leftovers of a killed batch ----------------------------------------------------


def _ours(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir() if path.name.startswith("gradekit-")]


def test_f7_a_killed_batch_leaves_nothing_once_the_next_starts(tmp_path, request):
    course = copy_course(
        tmp_path / "course",
        students=("alice_complete", "bob_typical_bugs", "carol_empty"),
        config=CONFIG,
    )
    # Short: a kernel's socket path must stay under 107 bytes.
    temp = Path(tempfile.mkdtemp(prefix="gk-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(temp, ignore_errors=True))
    env = {**os.environ, "TMPDIR": str(temp)}
    gradekit = Path(sys.executable).parent / "gradekit"
    command = [str(gradekit), "autograde", "--assignment", ASSIGNMENT, "--jobs", "2"]
    batch = subprocess.Popen(
        command,
        cwd=course.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any("zygote" in p.name for p in _ours(temp)):
        time.sleep(0.5)
    os.killpg(batch.pid, signal.SIGKILL)  # the batch and its Dask workers, mid-run
    batch.wait()
    killed = _ours(temp)
    assert killed, "the killed batch had created its folders"
    time.sleep(2)  # the sandboxes die with their parents
    again = subprocess.run(command, cwd=course.root, env=env, capture_output=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not [path for path in killed if path.exists()]
    groups = leftovers.CGROUP_ROOT.iterdir() if leftovers.CGROUP_ROOT.is_dir() else iter(())
    named = [(group, re.match(r"(\d+)\.(\d+)-", group.name)) for group in groups]
    dead = [g for g, m in named if m and not leftovers.creator_alive(int(m[1]), int(m[2]))]
    assert not dead
