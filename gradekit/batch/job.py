"""One submission's autograding in three steps, so that many can run at once, on any workers.

``nbgrader autograde`` does, for every notebook of a submission: *sanitize* (restore locked
cells and grade metadata from the gradebook), *execute* (with the kit: hide the hidden tests,
execute in a sandboxed kernel, write the trusted grades) and *save* (grades into the gradebook).
The kit splits the work so that the expensive middle part can run anywhere:

1. :func:`prepare_job` (the coordinator, this module): nbgrader's sanitizing steps on every
   notebook; the result is a :class:`Job`, plain data.
2. :func:`gradekit.batch.run.run_job` (any process with the kit installed, with no access to the
   course folder or the gradebook): the execution steps; the result is an :class:`Outcome`,
   plain data.
3. :func:`gradekit.batch.store.store_outcome` (the coordinator, the gradebook's only writer):
   nbgrader's own ``Autograde`` converter with its sanitizing steps replaced by
   :class:`gradekit.batch.store.UseSanitized` (the job's notebooks were sanitized in step 1) and
   its execution steps by :class:`gradekit.batch.store.UseOutcome`, so that the autograded
   notebooks, grades and late penalties are exactly what ``nbgrader autograde`` writes.

With ``grades_only`` the second step skips execution: the trusted grades, which never depend on
it, are written into the notebooks of the last full run (or the unexecuted ones).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import find_all_files
from traitlets.config import Config

from gradekit.checks.pytest_plugin import support_files
from gradekit.core.scoring import NotebookResult
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.runtime import Runtime, RuntimeParent
from gradekit.nbgrader.sanitize import content_key, sanitize_notebook

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
        submitted_keys: :func:`gradekit.nbgrader.sanitize.content_key` of each notebook as it
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
        keys: :func:`gradekit.nbgrader.sanitize.content_key` of each sanitized notebook graded.
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


def prepare_job(
    *,
    course: Course,
    assignment: str,
    student: str,
    notebook_names: Iterable[str],
    runtime: Runtime,
    grades_only: bool = False,
) -> Job:
    """Sanitize a submission's notebooks like ``nbgrader autograde`` and pack them as a job.

    Args:
        course: The course.
        assignment: The assignment.
        student: The student whose submission to pack.
        notebook_names: The assignment's notebooks in the gradebook (others are skipped, as
            nbgrader skips them).
        runtime: The coordinator's runtime (for the sanitizing steps that need one).
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
    parent = RuntimeParent(runtime, config=course.config)
    notebooks, submitted_keys, previous, problems = {}, {}, {}, []
    autograded = course.path("autograded", assignment=assignment, student=student)
    for path in sorted(submitted.glob("*.ipynb")):
        if path.stem not in known:
            continue
        resources = _notebook_resources(coursedir, assignment, student, path.stem)
        try:
            nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
            submitted_keys[path.stem] = content_key(nb, path.stem)
            nb, _ = sanitize_notebook(nb, resources, course.config, parent)
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


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
