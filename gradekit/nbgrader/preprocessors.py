"""nbgrader integration: the grades nbgrader stores come from the trusted graders.

Two preprocessors wrap nbgrader's ``Execute`` step of ``nbgrader autograde``
(``nbgrader_config.py`` lists them in ``Autograde.autograde_preprocessors``):

- :class:`HideHiddenTests` runs before execution: the student's kernel runs only the public part
  of each test cell, so hidden test code never enters the student's process. It also starts the
  trusted grading in a thread, since grading needs only the notebook's definitions: the checks
  run while the kernel executes the notebook. At a submission's first notebook it also starts
  grading the submission's other notebooks (sanitized exactly as nbgrader will sanitize them),
  so their results are ready, or nearly, when nbgrader reaches them.
- :class:`TrustedGrades` runs after execution: it grades the notebook with the check suite in this
  process (the student's code runs in a separate sandboxed worker) and replaces every autograded
  test cell's outputs with the feedback text and a plain number, which nbgrader's
  ``SaveAutoGrades`` turns into partial credit. Whatever the student's kernel printed in those
  cells is discarded. The detailed results go into the notebook's metadata (``gradekit``).

Settings: :class:`gradekit.nbgrader.course.GradeKit` (``c.GradeKit.call_timeout = 30`` and so on).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import nbformat
from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import preprocessors as nbgrader_steps
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from gradekit.checks.grading import grade_notebook
from gradekit.checks.pytest_plugin import support_files
from gradekit.core.cells import HiddenTests, is_autograded_test
from gradekit.core.notebook import as_nbformat, notebook_from_dict
from gradekit.core.scoring import NotebookResult
from gradekit.nbgrader.course import Course, GradeKit
from gradekit.nbgrader.kernel_sandbox import SandboxedKernelManager
from gradekit.sandbox.budget import UNLIMITED, Budget

_STASH = "gradekit_hidden_tests"
GRADING = "gradekit_grading"
#: The submission's :class:`gradekit.sandbox.budget.Budget`, in a notebook's resources.
BUDGET = "gradekit_budget"
_EXECUTION_PROBLEMS = "gradekit_execution_problems"
#: Cells in a row that time out before the kernel counts as unresponsive (no more cells run).
MAX_TIMEOUTS_IN_A_ROW = 2
#: Times a notebook is executed again, from the start and for free, after its kernel's sandbox
#: (the kernels' fork server) was lost: never the student's doing.
MAX_KERNEL_SANDBOX_LOSSES = 2


class KernelSandboxLost(Exception):
    """The fork server of the kernel died under a running notebook (not the student's doing:
    a kernel cannot reach it)."""


def _grade(
    nb: NotebookNode, resources: ResourcesDict, config: Any, budget: Budget = UNLIMITED
) -> NotebookResult:
    """Grade the notebook as it is now (only its definitions matter, not its outputs)."""
    course = Course(root=Path(CourseDirectory(config=config).root), config=config)
    assignment = resources["nbgrader"]["assignment"]
    return grade_notebook(
        notebook=notebook_from_dict(as_nbformat(nb), name=resources["nbgrader"]["notebook"]),
        suite=course.suite(assignment),
        support_files=support_files(course.path("source", assignment=assignment)),
        limits=course.settings.limits(),
        budget=budget,
    )


def content_key(nb: NotebookNode, notebook: str) -> str:
    """What grading depends on: the notebook's name, cell sources and nbgrader metadata."""
    cells = [
        [cell.cell_type, cell.source, cell.get("metadata", {}).get("nbgrader")] for cell in nb.cells
    ]
    data = json.dumps([notebook, cells], sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


@dataclass
class _Gradings:
    """Gradings started in this process, one after another in a single thread.

    ``submission`` is the (student, assignment) being autograded, ``seen`` its notebooks that
    nbgrader has reached, ``started`` the gradings not yet claimed, by :func:`content_key`,
    ``budget`` the submission's time budget (started when nbgrader reaches its first notebook).
    """

    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradekit")
    )
    submission: tuple[str, str] | None = None
    seen: set[str] = field(default_factory=set)
    started: dict[str, Future[NotebookResult]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    budget: Budget = UNLIMITED

    def claim(
        self, nb: NotebookNode, resources: ResourcesDict, config: Any, log: logging.Logger
    ) -> Future[NotebookResult]:
        """The grading of this notebook: started ahead (same content) or started now."""
        info = resources["nbgrader"]
        with self.lock:
            submission = (info["student"], info["assignment"])
            first = submission != self.submission or info["notebook"] in self.seen
            if first:
                for future in self.started.values():
                    future.cancel()
                self.started.clear()
                self.submission, self.seen = submission, set()
                self.budget = Budget.start(GradeKit(config=config).submission_budget)
            self.seen.add(info["notebook"])
            resources[BUDGET] = budget = self.budget
            grading = self.started.pop(content_key(nb, info["notebook"]), None)
            if grading is not None:
                log.info("Trusted grading of %s was started ahead", info["notebook"])
            else:
                nb = copy.deepcopy(nb)
                grading = self.executor.submit(_grade, nb, resources, config, budget)
            if first:
                for name, (ahead, ahead_resources) in _sanitized_siblings(resources, config):
                    key = content_key(ahead, name)
                    self.started[key] = self.executor.submit(
                        _grade, ahead, ahead_resources, config, budget
                    )
            return grading


_gradings = _Gradings()


def _sanitized_siblings(
    resources: ResourcesDict, config: Any
) -> list[tuple[str, tuple[NotebookNode, ResourcesDict]]]:
    """The submission's other notebooks, after the sanitizing steps ``nbgrader autograde`` will
    apply to them (restoring locked cells and grade metadata from the gradebook)."""
    info = resources["nbgrader"]
    coursedir = CourseDirectory(config=config)
    folder = Path(
        coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"])
    )
    siblings = []
    for path in sorted(folder.glob("*.ipynb")):
        if path.stem == info["notebook"]:
            continue
        sibling_resources = copy.deepcopy(resources)
        sibling_resources["nbgrader"]["notebook"] = path.stem
        sibling_resources["unique_key"] = path.stem
        try:
            siblings.append((path.stem, sanitize(path, sibling_resources, config)))
        except Exception:  # nbgrader reports the problem when it reaches this notebook
            continue
    return siblings


def sanitize(
    path: Path, resources: ResourcesDict, config: Any
) -> tuple[NotebookNode, ResourcesDict]:
    """A submitted notebook after nbgrader's sanitizing steps of ``nbgrader autograde``
    (outputs cleared, duplicate ids removed, locked cells and grade metadata restored from the
    gradebook).

    Raises:
        Exception: Whatever nbformat or nbgrader raise for a notebook they cannot read.
    """
    return sanitize_notebook(nbformat.read(path, as_version=nbformat.NO_CONVERT), resources, config)


def sanitize_notebook(
    nb: NotebookNode, resources: ResourcesDict, config: Any
) -> tuple[NotebookNode, ResourcesDict]:
    """:func:`sanitize` for a notebook already read (changed in place)."""
    coursedir = CourseDirectory(config=config)
    for step in Autograde(coursedir=coursedir, config=config).sanitize_preprocessors:
        nb, resources = step(config=config).preprocess(nb, resources)
    return nb, resources


class RestoreCellMetadata(NbGraderPreprocessor):
    """A sanitizing step before nbgrader's ``OverwriteCells``: every cell's nbgrader metadata is
    what the assignment says it is.

    nbgrader 0.9.6 restores a known cell's points, lock and source, but trusts the submission's
    ``grade``/``solution``/``task`` flags: a solution cell flagged ``grade: true`` fails the
    whole submission. Here a cell whose grade id the gradebook knows gets the flags, points and
    lock of the assignment's cell; metadata that names no cell of the assignment (an unknown id,
    none at all, or what ``DeduplicateIds`` leaves of a duplicated cell) is removed, so the cell
    becomes an ordinary one, and ``OverwriteCells.add_missing_cells`` puts back what is really
    missing. Each change is logged and listed in the notebook's metadata (``gradekit``
    ``restored``), for the batch summary and the report.
    """

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            expected = _assignment_metadata(notebook)
        restored = []
        nb.metadata.pop("gradekit", None)  # only the kit writes there
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {})
            if "nbgrader" not in meta:
                continue
            ours = meta["nbgrader"]
            grade_id = ours.get("grade_id") if isinstance(ours, dict) else None
            if grade_id not in expected:
                self.log.warning("Cell %d: nbgrader metadata names no cell: removed", index + 1)
                del meta["nbgrader"]
                continue
            wanted = expected[grade_id]
            changed = sorted(key for key, value in wanted.items() if ours.get(key) != value)
            unknown = [key for key in ours if key not in (*wanted, *_NBGRADER_OWN)]
            for key in unknown:
                del ours[key]
            if unknown:
                changed.append(f"{len(unknown)} unknown key(s)")
            if changed:
                ours.update(wanted)
                note = f"cell {index + 1} '{grade_id}': {', '.join(changed)} restored"
                self.log.warning("Cell metadata changed by the submission: %s", note)
                restored.append(note)
        if restored:
            nb.metadata.setdefault("gradekit", {})["restored"] = restored[:MAX_RESTORED]
        return nb, resources


#: Restored cells listed per notebook at most.
MAX_RESTORED = 20
#: Keys of a cell's nbgrader metadata that nbgrader itself keeps up to date.
_NBGRADER_OWN = ("checksum", "schema_version", "cell_type")


def _assignment_metadata(notebook: Any) -> dict[str, dict[str, Any]]:
    """Grade id -> the nbgrader flags the assignment's cell has (from the gradebook)."""
    grades = {cell.name: cell for cell in notebook.grade_cells}
    solutions = {cell.name for cell in notebook.solution_cells}
    tasks = {cell.name: cell for cell in notebook.task_cells}
    found = {}
    for source in notebook.source_cells:
        meta: dict[str, Any] = {
            "grade_id": source.name,
            "grade": source.name in grades,
            "solution": source.name in solutions,
            "task": source.name in tasks,
            "locked": bool(source.locked),
        }
        if source.name in grades:
            meta["points"] = float(grades[source.name].max_score)
        elif source.name in tasks:
            meta["points"] = float(tasks[source.name].max_score)
        found[source.name] = meta
    return found


class CheckCellMetadata(nbgrader_steps.CheckCellMetadata):
    """nbgrader's ``CheckCellMetadata`` step, which validates each distinct cell once per process.

    nbgrader validates every cell's nbgrader metadata against its JSON schema and checks the
    schema itself before each cell (about 50 ms per notebook, run twice for every notebook
    autograded). The result of a cell's checks depends only on its type and its metadata (the
    source appears only in the message of a failure), so a cell whose type and metadata are
    those of a cell that passed before passes again without the work. Failures and cells that
    make nbgrader log a warning are checked every time; the duplicate-id check of the whole
    notebook always runs.
    """

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        try:
            _RememberingValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            # nbgrader's own message, so that its log reads the same.
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources


class _RememberingValidator(MetadataValidator):
    """nbgrader's metadata validator, remembering the cells that passed (type and metadata)."""

    _passed: ClassVar[set[str]] = set()
    _MAX_REMEMBERED = 10_000

    def validate_cell(self, cell: NotebookNode) -> None:
        meta = cell.metadata.get("nbgrader")
        if meta is None:  # nbgrader checks nothing in such a cell
            return
        key = json.dumps([cell.cell_type, meta], sort_keys=True, default=repr)
        if key in self._passed:
            return
        super().validate_cell(cell)
        # A changed cell type makes nbgrader log a warning: it must be logged again next time.
        if isinstance(meta, dict) and meta.get("cell_type", cell.cell_type) == cell.cell_type:
            if len(self._passed) >= self._MAX_REMEMBERED:
                self._passed.clear()
            self._passed.add(key)


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test regions before the student's kernel runs the notebook, and start the
    trusted grading: it needs only the definitions, so it runs while the kernel executes."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        if GRADING not in resources:  # a batch worker starts its gradings itself
            resources[GRADING] = _gradings.claim(nb, resources, self.config, self.log)
        stash = {}
        hidden = HiddenTests.from_config(self.config)
        for index, cell in enumerate(nb.cells):
            if is_autograded_test(cell):
                stash[index] = cell.source
                cell.source = hidden.removed_from(cell.source)
        resources[_STASH] = stash
        return nb, resources


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with the kernel confined and bounded.

    - The kernel runs in the sandbox (:mod:`gradekit.nbgrader.kernel_sandbox`).
    - The whole notebook has ``GradeKit.execution_budget`` seconds, and no more than what is
      left of the submission's ``GradeKit.submission_budget`` (:data:`BUDGET` in the resources):
      each cell may take the smaller of ``Execute.timeout`` and what is left, and cells after the
      budget are not run; after
      :data:`MAX_TIMEOUTS_IN_A_ROW` cells in a row time out, the kernel counts as unresponsive.
    - Outputs beyond ``GradeKit.max_output_mb`` per notebook are dropped (with a notice) and the
      cell that crossed the limit is interrupted, so gigabytes of printing neither exhaust the
      grader's memory nor keep it busy receiving them.
    - A kernel that dies (``os._exit``, a crash, the memory limit) or cannot start ends the
      execution of that notebook instead of failing the whole submission: the cell where it
      happened says so, and the grades, which never depend on this execution, are stored as usual.
      A kernel that died because its sandbox's fork server died is not the student's doing: the
      notebook is executed again from the start (:data:`MAX_KERNEL_SANDBOX_LOSSES` times).

    What went wrong is kept in ``resources`` for :class:`TrustedGrades` (and the batch summary).
    Every ``c.Execute`` setting (``timeout`` and so on) applies.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        settings = GradeKit(config=self.config)
        self.budget = settings.execution_budget
        self.max_output_bytes = settings.max_output_mb * 1024 * 1024
        self.timeout_func = self._cell_timeout
        self._reset()

    def _reset(self, submission: Budget = UNLIMITED) -> None:
        self._submission = submission
        self._deadline = min(time.monotonic() + self.budget, submission.ends)
        self._output_bytes = 0
        self._stopped = False
        self._timeouts_in_a_row = 0
        self._interrupt: asyncio.Future[Any] | None = None
        self.problems: list[str] = []

    def preprocess(
        self, nb: NotebookNode, resources: Any = None, km: Any = None
    ) -> tuple[NotebookNode, Any]:
        budget = (resources or {}).get(BUDGET, UNLIMITED)
        original, losses = copy.deepcopy(nb), 0
        while True:
            self._reset(budget)
            try:
                nb, resources = super().preprocess(nb, resources, km)
            except KernelSandboxLost:
                losses += 1
                self.log.warning("The kernel's sandbox was lost (%d): executing again", losses)
                fresh = copy.deepcopy(original)  # in place: callers may hold this notebook
                nb.cells[:], nb.metadata = fresh.cells, fresh.metadata
                if losses <= MAX_KERNEL_SANDBOX_LOSSES:
                    continue
                self._note(
                    f"the kernel's sandbox was lost {losses} times (not the student's doing); "
                    "the notebook could not be executed"
                )
            except (DeadKernelError, RuntimeError, TimeoutError, OSError) as error:
                # The kernel could not start (or died between cells): nothing more can run.
                self._note(f"the notebook could not be executed ({type(error).__name__}: {error})")
            break
        resources.setdefault(_EXECUTION_PROBLEMS, []).extend(self.problems)
        return nb, resources

    def _sandbox_lost(self) -> bool:
        """Whether the kernel's fork server is gone (after its kernel died)."""
        server = getattr(getattr(self.km, "provisioner", None), "server", None)
        return server is not None and not server.zygote.alive

    def preprocess_cell(
        self, cell: NotebookNode, resources: Any, index: int
    ) -> tuple[NotebookNode, Any]:
        if self._stopped or cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._submission.exceeded:
            self._stop(cell, self._submission.reason())
            return cell, resources
        if time.monotonic() >= self._deadline:
            self._stop(cell, f"the notebook used up its {self.budget:g} s of execution time")
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            cell.outputs.append(
                _error_output("CellTimeoutError", "the cell did not finish in time")
            )
        except DeadKernelError:
            if self._sandbox_lost():
                raise KernelSandboxLost() from None
            self._stop(
                cell,
                "the kernel died while running this cell (exit(), os._exit(), a crash or the "
                "memory limit)",
            )
            return cell, resources
        timed_out = any(output.get("ename") == "CellTimeoutError" for output in cell.outputs)
        if timed_out and self._submission.exceeded:
            self._stop(cell, self._submission.reason())
            return cell, resources
        self._timeouts_in_a_row = self._timeouts_in_a_row + 1 if timed_out else 0
        if timed_out:
            # Interrupted after the cell's timeout; the next cells still get their chance,
            # unless the kernel no longer answers at all.
            self._note(f"cell {index + 1} did not finish in time and was interrupted")
        if self._timeouts_in_a_row >= MAX_TIMEOUTS_IN_A_ROW:
            self._stop(cell, f"{MAX_TIMEOUTS_IN_A_ROW} cells in a row did not finish in time")
        return cell, resources

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, index: int
    ) -> NotebookNode | None:
        content = msg.get("content", {})
        size = len(str(content.get("text", ""))) + sum(
            len(str(value)) for value in content.get("data", {}).values()
        )
        # An error's name, value and traceback are the kernel's words too (a crafted exception
        # type name can be megabytes long).
        size += len(str(content.get("ename", ""))) + len(str(content.get("evalue", "")))
        size += sum(len(str(line)) for line in content.get("traceback", []) or [])
        self._output_bytes += size
        if self._output_bytes <= self.max_output_bytes:
            return super().output(outs, msg, display_id, index)
        if self._output_bytes - size <= self.max_output_bytes:
            limit = self.max_output_bytes // (1024 * 1024)
            self._note(f"outputs beyond {limit} MiB were dropped and the cell was interrupted")
            notice = f"\n... output dropped: this notebook printed more than {limit} MiB ...\n"
            outs.append(from_dict({"output_type": "stream", "name": "stdout", "text": notice}))
            if self.km is not None:
                # Called from nbclient's event loop, which awaits the interrupted cell's end.
                self._interrupt = asyncio.ensure_future(ensure_async(self.km.interrupt_kernel()))
        return None

    def on_cell_executed(self, **kwargs: Any) -> None:
        """nbgrader's step adds the execute reply's error to the cell when no error output of
        that name was kept: that error counts toward the output limit too, and beyond it only
        a short notice is added."""
        content = kwargs["execute_reply"].get("content", {})
        cell = kwargs["cell"]
        if content.get("status") == "error" and not any(
            output.get("output_type") == "error" and output.get("ename") == content.get("ename")
            for output in cell.outputs
        ):
            size = len(str(content.get("ename", ""))) + len(str(content.get("evalue", "")))
            size += sum(len(str(line)) for line in content.get("traceback", []) or [])
            self._output_bytes += size
            if self._output_bytes > self.max_output_bytes:
                limit = self.max_output_bytes // (1024 * 1024)
                text = f"its description was dropped: this notebook printed more than {limit} MiB"
                cell.outputs.append(_error_output("Error", text))
                return
        super().on_cell_executed(**kwargs)

    def _cell_timeout(self, cell: NotebookNode) -> int:
        left = int(self._deadline - time.monotonic())
        return max(1, min(self.timeout or left, left))

    def _stop(self, cell: NotebookNode, reason: str) -> None:
        """Run no more cells; say why in ``cell`` (the cells after it keep no outputs)."""
        self._stopped = True
        self._note(f"{reason}; the cells after it were not run")
        cell.outputs.append(
            _error_output("ExecutionStopped", f"{reason}. The cells below were not run")
        )

    def _note(self, problem: str) -> None:
        self.problems.append(problem)
        self.log.warning("Executing the notebook: %s", problem)


def _error_output(name: str, text: str) -> NotebookNode:
    return from_dict(
        {"output_type": "error", "ename": name, "evalue": text, "traceback": [f"{name}: {text}"]}
    )


class TrustedGrades(NbGraderPreprocessor):
    """Write the trusted results into the test cells' outputs (grading now if not started)."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        for index, source in resources.pop(_STASH, {}).items():
            nb.cells[index].source = source
        grading: Future[NotebookResult] | None = resources.pop(GRADING, None)
        result = grading.result() if grading else _grade(nb, resources, self.config)
        result.execution_problems = list(resources.pop(_EXECUTION_PROBLEMS, []))
        restored = nb.metadata.get("gradekit", {}).get("restored", [])
        result.incidents += [f"metadata: {note}" for note in restored[:MAX_RESTORED]]
        write_results(nb, result)
        self.log.info(
            "Trusted grades for %s: %s / %s points in %.1f s",
            result.notebook,
            result.points,
            result.max_points,
            result.seconds,
        )
        return nb, resources


def write_results(nb: NotebookNode, result: NotebookResult) -> None:
    """Replace each autograded test cell's outputs with its feedback and points."""
    for cell in nb.cells:
        if not is_autograded_test(cell):
            continue
        item = result.items[cell.metadata.nbgrader.grade_id]
        cell.outputs = [
            from_dict({"output_type": "stream", "name": "stdout", "text": item.feedback() + "\n"}),
            from_dict(
                {
                    "output_type": "execute_result",
                    "execution_count": cell.get("execution_count"),
                    "metadata": {},
                    "data": {"text/plain": repr(float(item.points))},
                }
            ),
        ]
    nb.metadata["gradekit"] = result.to_json()


def read_results(nb: NotebookNode | dict[str, Any]) -> NotebookResult | None:
    """The results :class:`TrustedGrades` stored in an autograded notebook, if any."""
    data = nb.get("metadata", {}).get("gradekit")
    return NotebookResult.from_json(data) if data else None
