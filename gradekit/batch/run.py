"""Step 2 of a submission's autograding (:mod:`gradekit.batch.job`): execute and grade a job.

Runs on any worker with the kit and the course's trusted packages installed, with no access to
the course folder or the gradebook: the job carries everything, the :class:`Outcome` is plain
data. What outlives a job (suite sessions, fork servers, the grading thread) is the worker's
:class:`gradekit.nbgrader.runtime.Runtime`, passed in (on a Dask worker: made by the
:class:`WorkerRuntime` plugin, see :func:`run_on_worker`).
"""

from __future__ import annotations

import copy
import os
import socket
import tempfile
import time
from concurrent.futures import Future
from importlib.util import find_spec
from pathlib import Path, PurePosixPath

import nbformat
from distributed import WorkerPlugin, get_worker
from nbconvert.exporters.exporter import ResourcesDict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets.config import Config

from gradekit.batch.job import Job, JobError, Outcome, suite_digest
from gradekit.checks.grading import grade_notebook
from gradekit.core.notebook import as_nbformat, notebook_from_dict
from gradekit.core.scoring import NotebookResult
from gradekit.nbgrader.course import GradeKit
from gradekit.nbgrader.hide_hidden_tests import HideHiddenTests
from gradekit.nbgrader.resources import BUDGET, GRADING
from gradekit.nbgrader.runtime import Runtime, RuntimeParent
from gradekit.nbgrader.sandboxed_execute import SandboxedExecute
from gradekit.nbgrader.sanitize import content_key
from gradekit.nbgrader.trusted_grades import TrustedGrades
from gradekit.sandbox.budget import Budget, hard_stop
from gradekit.sandbox.leftovers import folder_prefix, sweep_once
from gradekit.sandbox.limits import Limits


def run_job(job: Job, *, runtime: Runtime) -> Outcome:
    """Execute and grade one submission. Runs on a worker with only the kit installed.

    Each notebook is executed in a sandboxed kernel (nbgrader's ``Execute`` step) while the
    runtime's grading thread grades the notebooks' definitions, one after another, with the
    trusted checks; then the results are written into the executed notebooks.

    Args:
        job: The submission and everything needed to grade it.
        runtime: The worker's runtime (suite sessions, kernel fork servers, grading thread).

    Raises:
        JobError: If this worker's graders differ from the coordinator's.
    """
    started = time.monotonic()
    folders = [_package_folder(name) for name in job.trusted_packages]
    if suite_digest(folders) != job.suite_digest:
        raise JobError(
            f"the graders installed on worker {_worker_name()} differ from the course's: "
            "install the same version of the kit on every worker"
        )
    config = Config(copy.deepcopy(job.config))
    settings = GradeKit(config=config)
    limits = settings.limits()
    # What the runtime starts before the budget is the kit's time, not the student's.
    runtime.warm_up(
        suite=_package_folder(job.suite), kernel_limits=None if job.grades_only else limits
    )
    budget = Budget.start(settings.submission_budget)
    with hard_stop(job.student, budget):
        graded, keys = _grade_job(job, config, limits, budget, runtime)
    return Outcome(
        student=job.student,
        assignment=job.assignment,
        notebooks=graded,
        keys=keys,
        seconds=time.monotonic() - started,
        worker=_worker_name(),
    )


def _grade_job(
    job: Job, config: Config, limits: Limits, budget: Budget, runtime: Runtime
) -> tuple[dict[str, str], dict[str, str]]:
    """The graded notebooks of ``job`` and the content keys of what was graded."""
    suite = _package_folder(job.suite)
    sanitized = {
        name: nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        for name, text in job.notebooks.items()
    }
    sweep_once()
    with tempfile.TemporaryDirectory(prefix=folder_prefix("job")) as folder:
        # The kernel's folder holds what nbgrader's autograded folder holds: the other files and
        # the notebooks (a notebook may import its siblings' definitions).
        _write_files(Path(folder), job.files)
        _write_files(
            Path(folder), {f"{name}.ipynb": text.encode() for name, text in job.notebooks.items()}
        )
        gradings: dict[str, Future[NotebookResult]] = {
            name: runtime.gradings.submit(
                grade_notebook,
                notebook=notebook_from_dict(as_nbformat(nb), name=name),
                suite=suite,
                support_files=job.support_files,
                limits=limits,
                sessions=runtime.suites,
                budget=budget,
            )
            for name, nb in sanitized.items()
        }
        steps: list[type[NbGraderPreprocessor]] = [HideHiddenTests, TrustedGrades]
        if not job.grades_only:
            steps.insert(1, SandboxedExecute)
        graded = {}
        parent = RuntimeParent(runtime, config=config)
        for name, nb in sanitized.items():
            if name in job.previous:
                nb = nbformat.reads(job.previous[name], as_version=nbformat.NO_CONVERT)
            resources = ResourcesDict(
                unique_key=name,
                metadata={"path": folder},
                nbgrader={"student": job.student, "assignment": job.assignment, "notebook": name},
            )
            resources[GRADING] = gradings[name]
            resources[BUDGET] = budget
            for step in steps:
                nb, resources = step(config=config, parent=parent).preprocess(nb, resources)
            graded[name] = nbformat.writes(nb)
    return graded, {name: content_key(nb, name) for name, nb in sanitized.items()}


class WorkerRuntime(WorkerPlugin):
    """Gives a worker its own :class:`~gradekit.nbgrader.runtime.Runtime` (the suite sessions,
    fork servers and grading thread its jobs share), closed with the worker; a worker restarted
    after a hard stop gets a new one."""

    name = "gradekit-runtime"

    def __init__(self) -> None:
        self.runtime: Runtime | None = None  # made on the worker, never sent

    def setup(self, worker: object) -> None:
        self.runtime = Runtime()

    def teardown(self, worker: object) -> None:
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None


def run_on_worker(job: Job) -> Outcome:
    """:func:`gradekit.batch.run.run_job` with the runtime of the Dask worker running it.

    Raises:
        JobError: If the worker has no :class:`WorkerRuntime` (the client did not register it).
    """
    plugin = get_worker().plugins.get(WorkerRuntime.name)
    if not isinstance(plugin, WorkerRuntime) or plugin.runtime is None:
        raise JobError("this Dask worker has no gradekit runtime (register WorkerRuntime)")
    return run_job(job, runtime=plugin.runtime)


def _package_folder(name: str) -> Path:
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise JobError(f"the package {name!r} is not installed on worker {_worker_name()}")
    return Path(next(iter(spec.submodule_search_locations)))


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
            continue  # never outside the job's folder
        path = folder.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
