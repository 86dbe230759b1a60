"""Autograding a whole class on local or distributed workers, with one gradebook writer.

:func:`autograde_class` packs each submission as a :class:`gradekit.batch.job.Job`, runs the jobs
on Dask workers (a ``LocalCluster`` with one process per job slot, or an existing cluster given by
its scheduler's address) and stores each outcome as it arrives, in this process only, so SQLite
never sees two writers. A submission is skipped when it was already graded from the same files
by the same graders (unless ``force``): a run that was killed picks up where it stopped.

What happened to whom comes back as a :class:`BatchSummary`; an :class:`Observer` hears about
each submission as it finishes (the CLI draws a progress bar with it).

The coordinator prepares and stores with a :class:`gradekit.nbgrader.runtime.Runtime` of the
batch's own; every worker grades with one of its own, made and closed by the
:class:`gradekit.batch.run.WorkerRuntime` plugin.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import dask
from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed
from nbgrader.api import Gradebook, MissingEntry

from gradekit.batch.job import Job, JobError, Outcome, prepare_job, suite_digest
from gradekit.batch.run import WorkerRuntime, run_on_worker
from gradekit.batch.state import STATE_FOLDER, GradingState
from gradekit.batch.store import store_outcome
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.runtime import Runtime
from gradekit.sandbox.budget import HARD_STOP_MARGIN, JOB_EVENTS

log = logging.getLogger("gradekit.batch.dask_run")

#: Times a submission is graded again, for free, after the worker grading it was lost for a
#: reason other than its own time budget (another job's hard stop, the machine's OOM killer).
MAX_LOST_WORKERS = 2


@dataclass
class StudentRun:
    """What happened to one submission in a batch.

    Attributes:
        student: The student id.
        status: ``graded``, ``skipped`` (already graded from the same files by the same
            graders) or ``failed`` (nothing stored; ``problems`` says why).
        seconds: Time a worker spent grading it (for a failure: from sending the job to
            the failure; queueing behind other jobs included).
        problems: Everything worth an instructor's look: unreadable notebooks, a kernel that
            died, timeouts and crashes during the checks, forbidden shortcuts.
        worker: Where the submission was graded.
    """

    student: str
    status: str
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    worker: str = ""


@dataclass
class BatchSummary:
    """A batch run: every submission's fate and the totals."""

    assignment: str
    runs: list[StudentRun]
    seconds: float
    workers: int

    def count(self, status: str) -> int:
        return sum(run.status == status for run in self.runs)

    @property
    def failed(self) -> list[StudentRun]:
        return [run for run in self.runs if run.status == "failed"]


class Observer(Protocol):
    """Hears about a batch's progress (the CLI's progress bar or log lines)."""

    def started(self, *, total: int, skipped: int, workers: int) -> None: ...

    def finished(self, run: StudentRun) -> None: ...


def autograde_class(
    *,
    course: Course,
    assignment: str,
    students: Sequence[str] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    grades_only: bool = False,
    observer: Observer | None = None,
) -> BatchSummary:
    """Autograde every submission of ``assignment`` (or the given students).

    Args:
        course: The course.
        assignment: The assignment.
        students: Students to grade (default: everyone with a submission folder).
        jobs: Submissions graded at once on this machine (default: the number of cores).
        scheduler: Address of a running Dask scheduler to use instead of local workers.
        force: Grade again what was already graded from the same files by the same graders.
        grades_only: Compute the grades from the definitions without executing the notebooks.
        observer: Told about the start and about each finished submission.

    Returns:
        What happened to each submission.

    Raises:
        JobError: If the assignment is not in the gradebook (release it first).
    """
    started = time.monotonic()
    everyone = list(students or course.students(assignment))
    notebook_names, stored = _gradebook_state(course, assignment)
    graders = suite_digest(course.root / name for name in course.settings.trusted_packages)
    state = GradingState(course.root / STATE_FOLDER / assignment, graders)
    runs: list[StudentRun] = []
    todo = []
    for student in everyone:
        submitted = course.path("submitted", assignment=assignment, student=student)
        current = student in stored and state.is_current(student, submitted, grades_only)
        if current and not force:
            runs.append(StudentRun(student, "skipped"))
        else:
            todo.append(student)
    workers = 0
    if todo:
        # A local cluster gets no more workers than there are submissions to grade.
        local_workers = min(jobs or os.cpu_count() or 1, len(todo))
        with (
            dask_client(jobs=local_workers, scheduler=scheduler, course=course.root) as client,
            Runtime() as runtime,
        ):
            workers = len(client.scheduler_info(n_workers=-1)["workers"])
            if observer:
                observer.started(total=len(everyone), skipped=len(runs), workers=workers)
            for run in _run_jobs(
                client=client,
                course=course,
                assignment=assignment,
                students=todo,
                notebook_names=notebook_names,
                grades_only=grades_only,
                state=state,
                in_flight=2 * max(workers, 1),
                runtime=runtime,
            ):
                runs.append(run)
                if observer:
                    observer.finished(run)
    elif observer:
        observer.started(total=len(everyone), skipped=len(runs), workers=0)
    runs.sort(key=lambda run: everyone.index(run.student))
    return BatchSummary(assignment, runs, time.monotonic() - started, workers)


def _run_jobs(
    *,
    client: Client,
    course: Course,
    assignment: str,
    students: list[str],
    notebook_names: list[str],
    grades_only: bool,
    state: GradingState,
    in_flight: int,
    runtime: Runtime,
) -> Iterator[StudentRun]:
    """Keep ``in_flight`` jobs on the workers; store each outcome as it arrives (the
    coordinator's ``runtime`` prepares and stores)."""
    queue = iter(students)
    sent: dict[object, tuple[Job, float, float]] = {}  # key -> the job, when it was sent
    arrived = as_completed()
    failures: list[StudentRun] = []

    lost: dict[str, int] = {}  # student -> workers lost under their job, not their fault

    def send(job: Job) -> None:
        future = client.submit(
            run_on_worker, job, key=f"grade-{job.student}-{uuid.uuid4().hex[:8]}"
        )
        sent[future.key] = (job, time.monotonic(), time.time())
        arrived.add(future)

    def send_next() -> None:
        for student in queue:
            try:
                job = prepare_job(
                    course=course,
                    assignment=assignment,
                    student=student,
                    notebook_names=notebook_names,
                    runtime=runtime,
                    grades_only=grades_only,
                )
            except Exception as error:
                failures.append(StudentRun(student, "failed", problems=[_reason(error)]))
                continue
            send(job)
            return

    for _ in range(in_flight):
        send_next()
    yield from _drain(failures)
    for future in arrived:
        job, sent_at, sent_wall = sent.pop(future.key)
        student = job.student
        try:
            outcome: Outcome = future.result()
            store_outcome(course=course, job=job, outcome=outcome, runtime=runtime)
        except KilledWorker:
            future.release()
            reason = _over_budget(client, student, sent_wall)
            if reason is None and lost.get(student, 0) < MAX_LOST_WORKERS:
                # Not this submission's doing: graded again for free.
                lost[student] = lost.get(student, 0) + 1
                log.warning("%s: the worker grading it was lost; grading it again", student)
                send(job)
                continue
            run = StudentRun(student, "failed", problems=[reason or _lost(lost[student] + 1)])
        except Exception as error:
            run = StudentRun(student, "failed", problems=[_reason(error)])
        else:
            submitted = course.path("submitted", assignment=assignment, student=student)
            state.remember(student, submitted, grades_only)
            problems = [*job.problems, *problems_of(outcome)]
            run = StudentRun(
                student, "graded", problems=problems, worker=outcome.worker, seconds=outcome.seconds
            )
        if run.status == "failed":
            run.seconds = time.monotonic() - sent_at
        future.release()
        yield run
        send_next()
        yield from _drain(failures)


def _over_budget(client: Client, student: str, sent_wall: float) -> str | None:
    """Why a job whose worker died was stopped, if it was its own time budget (the worker
    announced the job, :data:`gradekit.sandbox.budget.JOB_EVENTS`, and it ran past the hard
    stop)."""
    try:
        events = client.get_events(JOB_EVENTS)
    except Exception:  # an old scheduler, or one that lost its events: not the student's fault
        return None
    for _, event in reversed(list(events)):
        if not isinstance(event, dict) or event.get("student") != student:
            continue
        started, budget = float(event.get("started", 0)), float(event.get("budget", 0))
        if started < sent_wall - 1:
            break  # an earlier attempt's
        if time.time() - started >= budget + HARD_STOP_MARGIN:
            return (
                f"the submission used up its time budget of {budget:g} s: its grading was "
                "stopped (the worker grading it was ended)"
            )
        break
    return None


def _lost(times: int) -> str:
    return (
        f"the worker grading it was lost {times} times (not by this submission's time budget); "
        "grade it again"
    )


def _drain(failures: list[StudentRun]) -> Iterator[StudentRun]:
    while failures:
        yield failures.pop(0)


def problems_of(outcome: Outcome) -> list[str]:
    """What an instructor should know about a graded submission, one line each."""
    lines = []
    for name, result in outcome.results().items():
        short = name.split("_")[0]
        lines += [f"{short}: kernel: {problem}" for problem in result.execution_problems]
        lines += [f"{short}: checks: {incident}" for incident in result.incidents]
        lines += [
            f"{short}: forbidden shortcut in {item.item}"
            for item in result.items.values()
            if item.forbidden
        ]
        for item in result.items.values():
            loading = [check for check in item.checks if check.kind == "load"]
            if loading:
                lines.append(
                    f"{short}: {len(loading)} check(s) of {item.item} failed because of loading: "
                    f"{loading[0].message}"
                )
    return lines


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if not isinstance(error, JobError):
        text = f"{type(error).__name__}: {text}"
    return text.splitlines()[0][:400]


def _gradebook_state(course: Course, assignment: str) -> tuple[list[str], set[str]]:
    """The assignment's notebooks and the students who have a submission in the gradebook."""
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
        except MissingEntry as error:
            raise JobError(
                f"the assignment {assignment!r} is not in the gradebook: release it first"
            ) from error
        return [nb.name for nb in found.notebooks], {sub.student.id for sub in found.submissions}


@contextlib.contextmanager
def dask_client(
    *, jobs: int | None = None, scheduler: str | None = None, course: Path | None = None
) -> Iterator[Client]:
    """A Dask client: of the cluster at ``scheduler``, or of a new ``LocalCluster`` with one
    single-threaded worker process per job (default: one per core), which import the course's
    trusted packages from ``course`` (a remote cluster's workers must have them installed)."""
    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            client.register_plugin(WorkerRuntime())
            yield client
        return
    # A job whose worker died is not sent to another worker: the kit decides (its own time
    # budget: failed, saying so; anything else: graded again, see MAX_LOST_WORKERS).
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=jobs or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        if course is not None:
            client.register_plugin(CourseOnPath(str(course)))
        client.register_plugin(WorkerRuntime())
        yield client


class CourseOnPath(WorkerPlugin):
    """Puts the course folder first on a local worker's import path (workers restarted after a
    hard stop get it too), so that its graders and reference are the course folder's own."""

    name = "gradekit-course-on-path"

    def __init__(self, folder: str):
        self.folder = folder

    def setup(self, worker: object) -> None:
        if self.folder not in sys.path:
            sys.path.insert(0, self.folder)
