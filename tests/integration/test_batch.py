"""gradekit.batch.dask_run end to end: a class graded on Dask workers gets exactly nbgrader's
grades.

A copy of the course with the bundled submissions is graded on a ``LocalCluster`` with two worker
processes (through ``scheduler=``, as an instructor's own cluster would be used) and compared
with plain ``nbgrader autograde`` of the same submissions (``nbgrader_course``). Then: a rerun
skips everything, a grades-only run reproduces the grades, the exports and the report cover every
check, a batch killed with SIGKILL loses nothing, and PostgreSQL works as the gradebook (these
two with grades-only batches, which are cheaper and store the same way).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from distributed import LocalCluster
from nbgrader.api import Gradebook

from gradekit.batch.dask_run import BatchSummary, autograde_class
from gradekit.cli import main as cli
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.results import read_results
from gradekit.term.report.results import collect_results
from synthetic.courses import ASSIGNMENT, copy_course, free_port, grades, quiet_gradebook
from synthetic.samples import SAMPLES

pytestmark = pytest.mark.slow


def check_results(course: Course, student: str) -> dict[str, list[tuple[str, bool, str]]]:
    """Every check's name, outcome and message, per notebook, from the autograded notebooks."""
    folder = course.path("autograded", assignment=ASSIGNMENT, student=student)
    found = {}
    for path in sorted(folder.glob("*.ipynb")):
        result = read_results(nbformat.read(path, as_version=4))
        assert result is not None, f"{path} has no trusted results"
        found[path.stem] = [
            (check.name, check.passed, check.message)
            for item in result.items.values()
            for check in item.checks
        ]
    return found


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


@pytest.fixture(scope="module")
def graded(tmp_path_factory, cluster) -> tuple[Course, BatchSummary]:
    course = copy_course(tmp_path_factory.mktemp("batch-course"))
    with quiet_gradebook():
        summary = autograde_class(
            course=course, assignment=ASSIGNMENT, scheduler=cluster.scheduler_address
        )
    return course, summary


def test_every_submission_is_graded_on_two_workers(graded):
    _, summary = graded
    assert [run.status for run in summary.runs] == ["graded"] * len(SAMPLES)
    assert summary.workers == 2
    assert len({run.worker for run in summary.runs}) == 2, "one worker did all the work"


@pytest.mark.parametrize("student", list(SAMPLES))
def test_grades_equal_serial_nbgrader_autograde(graded, nbgrader_course, student):
    course, _ = graded
    assert grades(course, student) == grades(nbgrader_course, student)
    assert check_results(course, student) == check_results(nbgrader_course, student)


def test_a_rerun_skips_what_is_already_graded(graded):
    course, _ = graded
    with quiet_gradebook():
        summary = autograde_class(course=course, assignment=ASSIGNMENT, jobs=2)
    assert [run.status for run in summary.runs] == ["skipped"] * len(SAMPLES)
    assert summary.workers == 0, "workers were started for nothing"


def test_grades_only_gives_the_grades_of_the_full_run(graded, cluster):
    course, _ = graded
    before = {student: grades(course, student) for student in SAMPLES}
    executed = course.path("autograded", assignment=ASSIGNMENT, student="alice_complete")
    with quiet_gradebook():
        summary = autograde_class(
            course=course,
            assignment=ASSIGNMENT,
            scheduler=cluster.scheduler_address,
            grades_only=True,
            force=True,
        )
    assert [run.status for run in summary.runs] == ["graded"] * len(SAMPLES)
    assert {student: grades(course, student) for student in SAMPLES} == before
    # The notebooks keep the outputs of the last full run (grades-only executes nothing).
    nb = nbformat.read(executed / "02_neural_network_from_scratch.ipynb", as_version=4)
    assert any(
        cell.get("outputs")
        for cell in nb.cells
        if not cell.metadata.get("nbgrader", {}).get("grade")  # not a test cell
    )


def test_exports_and_report_cover_every_check(graded, tmp_path):
    course, _ = graded
    grades_csv, checks_csv = cli.export(course=course, assignment=ASSIGNMENT, folder=tmp_path)
    results = collect_results(course=course, assignment=ASSIGNMENT)
    names = {
        check.name
        for student in results.students
        for notebook in student.notebooks
        for item in notebook.items.values()
        for check in item.checks
    }
    assert len(names) > 400
    rows = checks_csv.read_text(encoding="utf-8").splitlines()
    assert len(rows) - 1 == sum(
        len(item.checks)
        for student in results.students
        for notebook in student.notebooks
        for item in notebook.items.values()
    )
    assert all(student in grades_csv.read_text(encoding="utf-8") for student in SAMPLES)
    page = cli.report(course=course, assignment=ASSIGNMENT, folder=tmp_path / "report")
    html = page.read_text(encoding="utf-8")
    missing = [name for name in names if name.replace("'", "&#39;") not in html]
    assert not missing, f"checks missing from the report: {missing[:5]}"
    pictures = sorted(page.parent.glob("*.png"))
    assert len(pictures) >= 3
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in pictures)


# -- a batch killed with SIGKILL --------------------------------------------------------------

#: Cheap submissions first: the kill comes right after the first one is stored. The batch is
#: a grades-only one on the module's cluster (cheaper): the process killed is the coordinator,
#: the gradebook's only writer, which stores and records progress exactly as in a full run.
KILLED_BATCH = ("carol_empty", "dave_partly_done", "bob_typical_bugs")


def run_cli(course: Course, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gradekit.cli.main", "--course", str(course.root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=os.environ | {"PYTHONWARNINGS": "ignore"},
    )


def test_sigkill_mid_batch_then_rerun_loses_nothing(tmp_path, cluster, nbgrader_course):
    course = copy_course(tmp_path / "course", students=KILLED_BATCH)
    on_cluster = ("--scheduler", cluster.scheduler_address, "--grades-only")
    batch = run_cli(course, "autograde", *on_cluster, *KILLED_BATCH)
    assert batch.stdout is not None
    lines = []
    for line in batch.stdout:
        lines.append(line)
        if line.startswith("[1/"):
            os.killpg(batch.pid, signal.SIGKILL)
            break
    batch.wait(timeout=60)
    assert batch.returncode == -signal.SIGKILL, "".join(lines)
    first = lines[-1].split()[2]

    rerun = run_cli(course, "autograde", *on_cluster, *KILLED_BATCH)
    output, _ = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, output
    assert "1 skipped" in output and "2 graded" in output, output
    rerun_statuses = {run["student"]: run["status"] for run in last_batch(course)["runs"]}
    assert rerun_statuses[first] == "skipped", "a submission stored before the kill was regraded"
    for student in KILLED_BATCH:
        assert grades(course, student) == grades(nbgrader_course, student), student


def last_batch(course: Course) -> dict:
    """The newest run's summary (each run keeps its own folder; the killed one has none)."""
    runs = sorted((course.root / ".gradekit" / ASSIGNMENT / "runs").iterdir())
    assert len(runs) == 2, runs
    assert not (runs[0] / "summary.json").exists()  # the killed run kept its log only
    return json.loads((runs[-1] / "summary.json").read_text(encoding="utf-8"))


# -- PostgreSQL as the gradebook ----------------------------------------------------------------


def _postgres_bin() -> Path | None:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists():
            return folder
    return None


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server on loopback, started from Debian's packages for this module."""
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (`make system` installs Debian's postgresql)")
    if os.geteuid() != 0:
        pytest.skip("starting PostgreSQL as its own user needs root here")
    # The server runs as the postgres user, who cannot enter pytest's private temporary folders.
    folder = Path(tempfile.mkdtemp(prefix="gradekit-postgres-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    for path in (folder, sockets):
        subprocess.run(["chown", "postgres:postgres", str(path)], check=True)
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U", "kit"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            *as_postgres,
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sockets),
            "-c",
            "listen_addresses=127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(binaries, port)
        subprocess.run(
            [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "kit", "grades"],
            check=True,
        )
        yield f"postgresql+psycopg2://kit@127.0.0.1:{port}/grades"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for(binaries: Path, port: int, seconds: float = 60) -> None:
    """Until the server accepts connections (pg_isready answers at once while it starts)."""
    ready = [str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]
    deadline = time.monotonic() + seconds
    while subprocess.run(ready, capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "PostgreSQL did not start"
        time.sleep(0.2)


POSTGRES_BATCH = ("carol_empty", "bob_typical_bugs")


def test_postgres_gradebook_gets_the_same_grades(tmp_path, postgres_url, cluster, nbgrader_course):
    course = copy_course(
        tmp_path / "course",
        students=POSTGRES_BATCH,
        config=f"c.CourseDirectory.db_url = {postgres_url!r}\n",
    )
    assert course.coursedir.db_url.startswith("postgresql")
    with quiet_gradebook():
        summary = autograde_class(
            course=course,
            assignment=ASSIGNMENT,
            scheduler=cluster.scheduler_address,
            grades_only=True,  # the gradebook sees exactly what a full run writes, sooner
        )
    assert [run.status for run in summary.runs] == ["graded"] * len(POSTGRES_BATCH)
    for student in POSTGRES_BATCH:
        assert grades(course, student) == grades(nbgrader_course, student), student
    with Gradebook(postgres_url, course.coursedir.course_id) as gradebook:
        assert {student.id for student in gradebook.students} == set(POSTGRES_BATCH)
