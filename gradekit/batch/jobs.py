"""One submission's autograding in three steps, so that many can run at once, on any workers.

``nbgrader autograde`` does, for every notebook of a submission: *sanitize* (restore locked
cells and grade metadata from the gradebook), *execute* (with the kit: hide the hidden tests,
execute in a sandboxed kernel, write the trusted grades) and *save* (grades into the gradebook).
The kit splits the work so that the expensive middle part can run anywhere:

1. :func:`prepare_job` (the coordinator): nbgrader's sanitizing steps on every notebook; the
   result is a :class:`Job`, plain data.
2. :func:`run_job` (any process with the kit installed, with no access to the course folder or
   the gradebook): the execution steps; the result is an :class:`Outcome`, plain data.
3. :func:`store_outcome` (the coordinator, the gradebook's only writer): nbgrader's own
   ``Autograde`` converter with its sanitizing steps replaced by :class:`UseSanitized` (the job's
   notebooks were sanitized in step 1) and its execution steps by :class:`UseOutcome`, so that
   the autograded notebooks, grades and late penalties are exactly what ``nbgrader autograde``
   writes.

With ``grades_only`` the second step skips execution: the trusted grades, which never depend on
it, are written into the notebooks of the last full run (or the unexecuted ones).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import capture_log, find_all_files
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from gradekit.checks.grading import grade_notebook
from gradekit.checks.pytest_plugin import support_files
from gradekit.core.notebook import as_nbformat, notebook_from_dict
from gradekit.core.scoring import NotebookResult
from gradekit.nbgrader.course import Course, GradeKit
from gradekit.nbgrader.preprocessors import (
    BUDGET,
    GRADING,
    HideHiddenTests,
    SandboxedExecute,
    TrustedGrades,
    content_key,
    sanitize_notebook,
)
from gradekit.sandbox.budget import Budget, hard_stop
from gradekit.sandbox.leftovers import folder_prefix, sweep_once
from gradekit.sandbox.limits import Limits

#: Configuration sections a worker needs to execute and grade like the coordinator would.
WORKER_SECTIONS = (
    "Execute",
    "SandboxedExecute",
    "ExecutePreprocessor",
    "NotebookClient",
    "GradeKit",
)


class JobError(RuntimeError):
    """A submission could not be graded (the message says why, for the batch summary)."""


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to grade one submission (plain data).

    Attributes:
        student: The student id.
        assignment: The assignment name.
        notebooks: Sanitized notebooks (name without ``.ipynb`` -> notebook JSON).
        submitted_keys: :func:`gradekit.nbgrader.preprocessors.content_key` of each notebook as it
        was
            submitted (before sanitizing): storing checks that it has not changed since.
        files: The other files of the submission's folder as nbgrader prepares it (the
            assignment's own files over the student's), relative path -> content.
        support_files: The assignment's helper modules for the trusted graders (name -> text).
        suite: Import name of the check suite's package.
        suite_digest: :func:`suite_digest` of the coordinator's trusted packages.
        trusted_packages: Import names of the packages the digest covers.
        config: The configuration sections of :data:`WORKER_SECTIONS`.
        grades_only: Grade the definitions without executing the notebooks.
        previous: With ``grades_only``: the last full run's autograded notebooks, where their
            cells are those of the current submission.
        problems: What could not be included (unreadable notebooks, files over the size limit).
    """

    student: str
    assignment: str
    notebooks: dict[str, str]
    submitted_keys: dict[str, str]
    files: dict[str, bytes]
    support_files: dict[str, str]
    suite: str
    suite_digest: str
    trusted_packages: tuple[str, ...]
    config: dict[str, dict[str, Any]]
    grades_only: bool = False
    previous: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """A worker's answer: the graded notebooks (plain data).

    Attributes:
        student: The student id.
        assignment: The assignment name.
        notebooks: Executed notebooks with the trusted grades written in (name -> JSON).
        keys: :func:`gradekit.nbgrader.preprocessors.content_key` of each sanitized notebook graded.
        seconds: Wall time on the worker.
        worker: Host and process that did the work.
    """

    student: str
    assignment: str
    notebooks: dict[str, str]
    keys: dict[str, str]
    seconds: float
    worker: str

    def results(self) -> dict[str, NotebookResult]:
        """The trusted results stored in each notebook."""
        found = {}
        for name, text in self.notebooks.items():
            data = json.loads(text).get("metadata", {}).get("gradekit")
            if data:
                found[name] = NotebookResult.from_json(data)
        return found


# -- 1. prepare (coordinator) -------------------------------------------------------------------


def prepare_job(
    *,
    course: Course,
    assignment: str,
    student: str,
    notebook_names: Iterable[str],
    grades_only: bool = False,
) -> Job:
    """Sanitize a submission's notebooks like ``nbgrader autograde`` and pack them as a job.

    Args:
        course: The course.
        assignment: The assignment.
        student: The student whose submission to pack.
        notebook_names: The assignment's notebooks in the gradebook (others are skipped, as
            nbgrader skips them).
        grades_only: Pack for a grades-only run (with the last run's autograded notebooks).

    Raises:
        JobError: If the submission folder does not exist.
    """
    settings = course.settings
    coursedir = course.coursedir
    submitted = course.path("submitted", assignment=assignment, student=student)
    if not submitted.is_dir():
        raise JobError(f"no submission folder {submitted}")
    known = set(notebook_names)
    notebooks, submitted_keys, previous, problems = {}, {}, {}, []
    autograded = course.path("autograded", assignment=assignment, student=student)
    for path in sorted(submitted.glob("*.ipynb")):
        if path.stem not in known:
            continue
        resources = _notebook_resources(coursedir, assignment, student, path.stem)
        try:
            nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
            submitted_keys[path.stem] = content_key(nb, path.stem)
            nb, _ = sanitize_notebook(nb, resources, course.config)
        except Exception as error:  # nbgrader fails this notebook the same way when storing
            problems.append(f"{path.name} could not be read: {_first_line(error)}")
            submitted_keys.pop(path.stem, None)
            continue
        notebooks[path.stem] = nbformat.writes(nb)
        earlier = autograded / path.name
        if grades_only and earlier.is_file() and _same_cells(earlier, nb):
            previous[path.stem] = earlier.read_text(encoding="utf-8")
    files, skipped = _kernel_files(course, assignment, submitted, settings.max_submission_mb)
    problems += skipped
    return Job(
        student=student,
        assignment=assignment,
        notebooks=notebooks,
        submitted_keys=submitted_keys,
        files=files,
        support_files=support_files(course.path("source", assignment=assignment)),
        suite=course.suite_name(assignment),
        suite_digest=suite_digest(_trusted_folders(course)),
        trusted_packages=tuple(settings.trusted_packages),
        config=_worker_config(course.config),
        grades_only=grades_only,
        previous=previous,
        problems=tuple(problems),
    )


def _notebook_resources(
    coursedir: CourseDirectory, assignment: str, student: str, notebook: str
) -> ResourcesDict:
    """The resources nbgrader's converter gives a notebook's preprocessors."""
    return ResourcesDict(
        unique_key=notebook,
        output_files_dir=f"{notebook}_files",
        nbgrader={
            "student": student,
            "assignment": assignment,
            "notebook": notebook,
            "db_url": coursedir.db_url,
        },
    )


def _same_cells(path: Path, nb: NotebookNode) -> bool:
    """Whether an autograded notebook has the same cells (kinds and sources) as ``nb``."""
    try:
        earlier = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    except Exception:
        return False
    return [(c.cell_type, c.source) for c in earlier.cells] == [
        (c.cell_type, c.source) for c in nb.cells
    ]


def _kernel_files(
    course: Course, assignment: str, submitted: Path, limit_mb: int
) -> tuple[dict[str, bytes], list[str]]:
    """The non-notebook files nbgrader puts next to the notebooks it executes: the student's,
    then the assignment's own over them. Files beyond the size limit are left out."""
    ignore = [*course.coursedir.ignore, "*.ipynb"]
    source = course.path("source", assignment=assignment)
    overwrite_exclude = course.config.get("Autograde", {}).get("exclude_overwriting", {})
    exclude = {source / name for name in overwrite_exclude.get(assignment, [])}
    found: dict[str, Path] = {}
    for folder, skip in ((submitted, set()), (source, exclude)):
        for name in find_all_files(str(folder), ignore):
            path = Path(name)
            if path not in skip:
                found[path.relative_to(folder).as_posix()] = path
    files, skipped, total = {}, [], 0
    for relative, path in sorted(found.items()):
        size = path.stat().st_size
        if total + size > limit_mb * 1024 * 1024:
            skipped.append(f"{relative} was left out: the submission's files exceed {limit_mb} MiB")
            continue
        total += size
        files[relative] = path.read_bytes()
    return files, skipped


def _worker_config(config: Config) -> dict[str, dict[str, Any]]:
    """The plain-data part of the configuration sections a worker uses."""
    plain: dict[str, dict[str, Any]] = {}
    for section in WORKER_SECTIONS:
        values = {}
        for key, value in config.get(section, {}).items():
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                continue
            values[key] = value
        if values:
            plain[section] = values
    return plain


def _trusted_folders(course: Course) -> list[Path]:
    return [course.root / name for name in course.settings.trusted_packages]


def suite_digest(folders: Iterable[Path]) -> str:
    """A digest of every Python file of the trusted packages (the graders and what they use)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.relative_to(folder.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


# -- 2. run (any worker) ------------------------------------------------------------------------

#: Waits for the trusted checks of a job's notebooks, one after another, while the kernels execute
#: them (the checks themselves run in the thread of :class:`gradekit.checks.grading.SuiteSession`).
_CHECKS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradekit-grading")


def run_job(job: Job) -> Outcome:
    """Execute and grade one submission. Runs on a worker with only the kit installed.

    Each notebook is executed in a sandboxed kernel (nbgrader's ``Execute`` step) while a
    background thread grades the notebooks' definitions, one after another, with the trusted
    checks; then the results are written into the executed notebooks.

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
    budget = Budget.start(settings.submission_budget)
    with hard_stop(job.student, budget):
        graded, keys = _grade_job(job, config, limits, budget)
    return Outcome(
        student=job.student,
        assignment=job.assignment,
        notebooks=graded,
        keys=keys,
        seconds=time.monotonic() - started,
        worker=_worker_name(),
    )


def _grade_job(
    job: Job, config: Config, limits: Limits, budget: Budget
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
            name: _CHECKS.submit(
                grade_notebook,
                notebook=notebook_from_dict(as_nbformat(nb), name=name),
                suite=suite,
                support_files=job.support_files,
                limits=limits,
                budget=budget,
            )
            for name, nb in sanitized.items()
        }
        steps: list[type[NbGraderPreprocessor]] = [HideHiddenTests, TrustedGrades]
        if not job.grades_only:
            steps.insert(1, SandboxedExecute)
        graded = {}
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
                nb, resources = step(config=config).preprocess(nb, resources)
            graded[name] = nbformat.writes(nb)
    return graded, {name: content_key(nb, name) for name, nb in sanitized.items()}


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


# -- 3. store (coordinator, the gradebook's only writer) ---------------------------------------


@dataclass(frozen=True)
class _Storing:
    """What the two stand-in steps of a submission being stored need."""

    job: Job
    outcome: Outcome
    config: Config  # the course's, with nbgrader's own sanitizing steps


#: Submissions being stored, by (student, assignment).
_STORING: dict[tuple[str, str], _Storing] = {}


def _storing(resources: ResourcesDict) -> _Storing:
    info = resources["nbgrader"]
    return _STORING[(info["student"], info["assignment"])]


class UseSanitized(NbGraderPreprocessor):
    """Stands in for the sanitizing steps in nbgrader's converter: the notebook the job carried,
    sanitized by the same steps when the job was prepared, replaces the one nbgrader just read
    (which must still be the one submitted then). A notebook the job could not sanitize goes
    through nbgrader's steps again, which fail it as ``nbgrader autograde`` would."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        storing = _storing(resources)
        name = resources["nbgrader"]["notebook"]
        if name not in storing.job.notebooks:
            return sanitize_notebook(nb, resources, storing.config)
        if storing.job.submitted_keys.get(name) != content_key(nb, name):
            raise JobError(f"{name} changed while it was being graded: grade it again")
        return nbformat.reads(
            storing.job.notebooks[name], as_version=nbformat.NO_CONVERT
        ), resources


class UseOutcome(NbGraderPreprocessor):
    """Stands in for the execution steps in nbgrader's converter: the notebook a worker executed
    and graded replaces the one nbgrader just sanitized (which must be the one the worker got)."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        outcome = _storing(resources).outcome
        name = resources["nbgrader"]["notebook"]
        if outcome.keys.get(name) != content_key(nb, name):
            raise JobError(f"{name} changed while it was being graded: grade it again")
        return nbformat.reads(outcome.notebooks[name], as_version=nbformat.NO_CONVERT), resources


class StoreAutograde(Autograde):
    """nbgrader's ``Autograde`` converter that gives an unreadable notebook zero points (as if it
    were missing) instead of failing the whole submission."""

    def convert_single_notebook(self, notebook_filename: str) -> None:
        try:
            nbformat.read(notebook_filename, as_version=nbformat.NO_CONVERT)
        except Exception as error:
            self.log.error("%s is not a readable notebook: %s", notebook_filename, error)
            resources = self.init_single_notebook_resources(notebook_filename)
            info = resources["nbgrader"]
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gradebook:
                notebook = gradebook.find_submission_notebook(
                    info["notebook"], info["assignment"], info["student"]
                )
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gradebook.db.commit()
            return
        super().convert_single_notebook(notebook_filename)


def storing_steps(configured: Iterable[Any]) -> list[type]:
    """The configured autograde steps with the execution steps replaced by :class:`UseOutcome`.

    Raises:
        JobError: If the configuration does not use the kit's trusted graders.
    """
    steps = [import_item(step) if isinstance(step, str) else step for step in configured]
    if not any(issubclass(step, TrustedGrades) for step in steps):
        raise JobError(
            "nbgrader_config.py does not list gradekit's TrustedGrades in "
            "Autograde.autograde_preprocessors"
        )
    execution = (HideHiddenTests, Execute, TrustedGrades)
    replaced: list[type] = []
    for step in steps:
        if not issubclass(step, execution):
            replaced.append(step)
        elif UseOutcome not in replaced:
            replaced.append(UseOutcome)
    return replaced


def store_outcome(*, course: Course, job: Job, outcome: Outcome) -> str:
    """Save a worker's outcome of ``job`` through nbgrader's ``Autograde`` converter.

    Returns:
        nbgrader's log of the conversion.

    Raises:
        JobError: If nbgrader could not store it (the message has nbgrader's reason).
    """
    config = copy.deepcopy(course.config)
    configured = config.get("Autograde", {}).get("autograde_preprocessors", [])
    config.Autograde.autograde_preprocessors = storing_steps(configured)
    config.Autograde.sanitize_preprocessors = [UseSanitized]
    coursedir = CourseDirectory(config=config, root=str(course.root))
    coursedir.assignment_id = outcome.assignment
    coursedir.student_id = outcome.student
    converter = StoreAutograde(coursedir=coursedir, config=config)
    converter.force = True
    converter.create_student = True
    key = (outcome.student, outcome.assignment)
    _STORING[key] = _Storing(job, outcome, course.config)
    try:
        result = capture_log(converter)
    finally:
        _STORING.pop(key, None)
    if not result["success"]:
        raise JobError(_last_error(result.get("log", "") + result.get("error", "")))
    return str(result.get("log", ""))


def _last_error(text: str) -> str:
    """The most telling line of an nbgrader log or traceback: the kit's own reason if one of its
    steps refused (nbgrader ends every failure with the same general line), else the last error.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    own = [line.split("JobError: ", 1)[1] for line in lines if "JobError: " in line]
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (own or errors or lines or ["nbgrader failed without a message"])[-1][:400]


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
