"""gradekit.sandbox.budget, gradekit.sandbox.leftovers and lost sandboxes: a submission's time
budget ends its grading alone, a killed grading process leaves nothing behind for long, and a
student whose sandbox was lost for someone else's reason is graded again for free."""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from gradekit.checks.grading import grade_notebook
from gradekit.core.notebook import read_notebook
from gradekit.sandbox import budget as budget_module
from gradekit.sandbox import leftovers
from gradekit.sandbox.budget import Budget
from gradekit.sandbox.channels import WorkerGone
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.problems import StudentTimeout
from gradekit.sandbox.student import Student
from gradekit.sandbox.submission import Submission
from gradekit.sandbox.workers import WorkerPool
from tests.unit.fixtures import (
    ASSIGNMENT,
    GRADE_CELLS,
    NOTEBOOK,
    copy_tiny_course,
    started_submission,
)

LIMITS = Limits(
    call_timeout=30, load_timeout=60, max_restarts=2, memory_mb=2048, preload=("numpy",)
)

CODE = textwrap.dedent(
    """
    import time

    def forever(x):
        while True:
            pass

    def slowly(x, seconds):
        time.sleep(seconds)
        return x + 1

    def quick(x):
        return x + 1
    """
)


def loaded(budget: Budget, workers: WorkerPool) -> Submission:
    return started_submission(CODE, workers=workers, limits=LIMITS, budget=budget)


def test_a_budget_clamps_every_wait_and_says_why():
    budget = Budget.start(10)
    assert budget.clamp(30) <= 10 and budget.clamp(1) == 1
    assert budget.binds(30) and not budget.binds(1)
    assert budget.reason() == "the submission used up its time budget of 10 s"
    assert not Budget.start(0).binds(1e9)  # 0: no budget


def test_an_endless_call_ends_with_the_budget_not_the_call_timeout(workers):
    with loaded(Budget.start(600), workers) as submission:
        student = Student(submission)
        assert student.call("quick", 1) == 2
        submission.budget = Budget.start(4)  # from here (starting the fork server takes long)
        started = time.monotonic()
        with pytest.raises(StudentTimeout, match="used up its time budget of 4 s"):
            student.call("forever", 1)  # the call timeout is 30 s
        assert time.monotonic() - started < 6
        started = time.monotonic()
        with pytest.raises(StudentTimeout, match="used up its time budget of 4 s"):
            student.call("quick", 1)  # nothing more runs, at once
        assert time.monotonic() - started < 0.5
        assert submission.incidents == ["budget: the submission used up its time budget of 4 s"]


class StuckChannel:
    """A student process whose every answer keeps the trusted side busy (what bounded decoding
    and the per-call timeouts prevent: the hard stop is the last line of defence)."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def request(self, message, timeout):
        self.closed.wait()
        raise WorkerGone("closed")

    def close(self) -> None:
        self.closed.set()


def test_the_hard_stop_abandons_checks_stuck_on_the_trusted_side(
    monkeypatch, tiny_course, suite_sessions
):
    monkeypatch.setattr(budget_module, "HARD_STOP_MARGIN", 1.0)
    notebook = read_notebook(tiny_course.root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    suite = tiny_course.suite(ASSIGNMENT)
    dead = StuckChannel()
    dead.close()  # answers nothing at once: collects the suite before the clock starts
    grade_notebook(
        notebook=notebook,
        suite=suite,
        support_files={},
        limits=LIMITS,
        sessions=suite_sessions,
        start_channel=lambda: dead,
    )
    channel = StuckChannel()
    started = time.monotonic()
    result = grade_notebook(
        notebook=notebook,
        suite=suite,
        support_files={},
        limits=LIMITS,
        sessions=suite_sessions,
        start_channel=lambda: channel,
        budget=Budget.start(2),
    )
    assert time.monotonic() - started < 6
    assert channel.closed.is_set()
    assert result.points == 0
    for item in result.items.values():
        assert "used up its time budget of 2 s" in item.feedback()
    assert any("used up its time budget of 2 s" in line for line in result.incidents)


# -- leftovers ----------------------------------------------------------------------------------


def test_leftovers_of_dead_creators_are_removed_live_ones_kept(tmp_path):
    mine = tmp_path / (leftovers.folder_prefix("job") + "x")
    pid_reused = tmp_path / f"gradekit-job-{os.getpid()}.1-x"  # this pid, another start time
    dead = subprocess.run(["true"], check=True)
    assert dead.returncode == 0
    gone = tmp_path / "gradekit-zygote-999999999.5-y"
    foreign = tmp_path / "gradekit-notes-keep"
    for folder in (mine, pid_reused, gone, foreign):
        (folder / "inner").mkdir(parents=True)
    (gone / "link").symlink_to(tmp_path)  # a link inside is removed, not followed
    removed = leftovers.sweep(tmp_path, cgroups=tmp_path / "no-cgroups")
    assert sorted(removed) == sorted([pid_reused, gone])
    assert mine.is_dir() and foreign.is_dir() and tmp_path.is_dir()


def _cgroups_writable() -> bool:
    try:
        leftovers.CGROUP_ROOT.mkdir(parents=True, exist_ok=True)
        probe = leftovers.CGROUP_ROOT / "probe"
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return False
    return True


#: A grading process: a fork server with a worker (cgroup, folders) and a kernel server.
GRADING_PROCESS = textwrap.dedent(
    """
    import sys, time
    from gradekit.nbgrader.kernel_sandbox import KernelServer
    from gradekit.sandbox.limits import Limits
    from gradekit.sandbox.workers import WorkerPool
    limits = Limits(memory_mb=2048, preload=("numpy",))
    workers = WorkerPool()
    channel = workers.start(limits)
    channel.request({"op": "hello"}, 60)
    server = KernelServer(limits)
    print("ready", flush=True)
    time.sleep(600)
    """
)


def test_a_sigkilled_grading_process_leaves_nothing_after_the_next_start(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-c", GRADING_PROCESS], stdout=subprocess.PIPE, env=env, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    tag = f"{process.pid}.{leftovers.start_time(process.pid)}"
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = [path for path in tmp_path.iterdir() if tag in path.name]
    assert len(left) >= 2  # the fork servers' folders, the kernels' folder
    groups = sorted(leftovers.CGROUP_ROOT.glob(f"{tag}-*")) if _cgroups_writable() else []
    if _cgroups_writable():
        assert groups, "the fork servers' pids cgroups"
    removed = leftovers.sweep(tmp_path)
    assert not [path for path in tmp_path.iterdir() if tag in path.name]
    assert not list(leftovers.CGROUP_ROOT.glob(f"{tag}-*"))
    assert set(left + groups) <= set(removed)


# -- lost sandboxes -----------------------------------------------------------------------------


def test_a_lost_fork_server_costs_the_student_nothing(workers):
    with loaded(Budget.start(120), workers) as submission:
        student = Student(submission)
        assert student.call("quick", 1) == 2
        zygote = workers.fork_server(LIMITS)
        assert zygote is not None
        killer = threading.Timer(1.0, os.killpg, (zygote.process.pid, signal.SIGKILL))
        killer.start()
        assert student.call("slowly", 1, 3) == 2  # graded again in a fresh sandbox
        killer.join()
        assert submission.sandbox_losses == 1
        assert submission.restarts == 0
        assert not [line for line in submission.incidents if "crash" in line]


# -- the hard stop of a batch worker ------------------------------------------------------------


def _stuck_job(student: str) -> None:
    """A job that blows its budget while holding the interpreter's lock (regular expression
    backtracking in C: no Python-level timer could run)."""
    from gradekit.sandbox import budget

    budget.HARD_STOP_MARGIN = 0.5
    with budget.hard_stop(student, budget.Budget.start(1.0)):
        re.fullmatch(r"(a+)+$", "a" * 64 + "b")


def _quick_job(student: str) -> str:
    return student


def test_a_batch_worker_past_its_budget_is_ended_and_says_why(monkeypatch):
    import cloudpickle
    from distributed import KilledWorker

    from gradekit.batch import dask_run as batch

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(batch, "HARD_STOP_MARGIN", 0.5)
    with batch.dask_client(jobs=1) as client:
        sent = time.time()
        started = time.monotonic()
        stuck = client.submit(_stuck_job, "mallory", key="stuck")
        queued = client.submit(_quick_job, "alice", key="queued")
        with pytest.raises(KilledWorker):
            stuck.result(timeout=120)
        assert time.monotonic() - started < 60
        assert batch._over_budget(client, "mallory", sent) == (
            "the submission used up its time budget of 1 s: its grading was stopped "
            "(the worker grading it was ended)"
        )
        # Whatever else the lost worker held was not its own doing: graded again for free.
        assert batch._over_budget(client, "alice", sent) is None
        try:
            assert queued.result(timeout=120) == "alice"
        except KilledWorker:
            assert client.submit(_quick_job, "alice", key="again").result(timeout=120) == "alice"


# -- the kernel ---------------------------------------------------------------------------------


def _execute(tmp_path, sources, budget: Budget, runtime, during=None):
    """Execute ``sources`` with nbgrader's step, its kernel forked by ``runtime``'s server."""
    import nbformat
    from traitlets.config import Config

    from gradekit.nbgrader.resources import BUDGET
    from gradekit.nbgrader.runtime import RuntimeParent
    from gradekit.nbgrader.sandboxed_execute import SandboxedExecute

    config = Config()
    config.Execute.timeout = 60
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    executor = SandboxedExecute(config=config, parent=RuntimeParent(runtime))
    timer = threading.Timer(during[0], during[1]) if during else None
    if timer:
        timer.start()
    started = time.monotonic()
    executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}, BUDGET: budget})
    if timer:
        timer.join()
    return nb, executor.problems, time.monotonic() - started


def test_the_kernel_stops_at_the_submission_budget(tmp_path, runtime):
    _execute(tmp_path, ["1"], Budget.start(600), runtime)  # the kernels' fork server starts
    sources = ["import time\ntime.sleep(3)"] * 10 + ["print('never')"]
    nb, problems, seconds = _execute(tmp_path, sources, Budget.start(8), runtime)
    assert seconds < 14  # 30 s of sleeping without the budget
    assert any("used up its time budget of 8 s" in problem for problem in problems), problems
    assert not nb.cells[-1].outputs


def test_a_lost_kernel_sandbox_executes_the_notebook_again_for_free(tmp_path):
    from traitlets.config import Config

    from gradekit.nbgrader.course import GradeKit
    from gradekit.nbgrader.runtime import Runtime

    limits = GradeKit(config=Config()).limits()
    with Runtime() as runtime:
        _execute(tmp_path, ["1"], Budget.start(600), runtime)  # the kernels' fork server starts
        before = runtime.kernels.for_this_thread(limits).zygote.process.pid

        def kill_fork_server():
            os.killpg(before, signal.SIGKILL)

        sources = ["import time\ntime.sleep(4)", "print('done')"]
        nb, problems, _ = _execute(
            tmp_path, sources, Budget.start(600), runtime, (2.0, kill_fork_server)
        )
        after = runtime.kernels.for_this_thread(limits).zygote.process.pid
    assert after != before, "the notebook ran again under a new fork server"
    assert problems == []  # no 'the kernel died' charged to the student
    assert nb.cells[-1].outputs[0]["text"] == "done\n"


def test_crafted_error_names_count_toward_the_output_limit(tmp_path):
    import json

    import nbformat
    from traitlets.config import Config

    from gradekit.nbgrader.sandboxed_execute import SandboxedExecute

    config = Config()
    config.GradeKit.max_output_mb = 1
    raising = "raise type('E' * 3_000_000, (ValueError,), {})('no')"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(raising) for _ in range(3)])
    SandboxedExecute(config=config).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert len(json.dumps([cell.outputs for cell in nb.cells])) < 1.5 * 1024 * 1024


#: The kit's own start-up in the test below: collecting the checks takes this long...
SLOW_COLLECTION_SECONDS = 20
#: ...longer than the whole budget of the submission (which itself needs a few seconds).
STARTUP_BUDGET_SECONDS = 15


@pytest.mark.slow
@pytest.mark.parametrize("command", ["nbgrader", "gradekit"])
def test_the_kits_start_up_is_not_the_first_students_time(tmp_path, command):
    """The first submission a grading process sees waits for the suite's collection (and a
    kernel fork server) before its budget starts: that start-up is the kit's cost, not theirs."""
    root = copy_tiny_course(tmp_path / "course")
    graders = root / "tiny_vectors" / "graders" / "conftest.py"
    graders.write_text(
        graders.read_text()
        + "\n\ndef pytest_collection_finish(session):\n"
        + f"    __import__('time').sleep({SLOW_COLLECTION_SECONDS})\n"
    )
    config = root / "nbgrader_config.py"
    config.write_text(
        config.read_text() + f"c.GradeKit.submission_budget = {STARTUP_BUDGET_SECONDS}\n"
    )
    submitted = root / "submitted" / "first" / ASSIGNMENT
    submitted.mkdir(parents=True)
    shutil.copy(root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", submitted)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    # In processes of their own: the changed suite must not meet this process's copy of it.
    run = functools.partial(subprocess.run, cwd=root, env=env, capture_output=True, text=True)
    released = run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--create"]
    )
    assert released.returncode == 0, released.stderr[-2000:]
    if command == "nbgrader":
        argv = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--create"]
    else:
        argv = [sys.executable, "-m", "gradekit.cli.main", "autograde", "--jobs", "1"]
    graded = run(argv, timeout=600)
    assert graded.returncode == 0, graded.stderr[-2000:]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "first")
        assert submission.score == sum(GRADE_CELLS.values()), graded.stdout[-2000:]
