"""nbgrader's ``Execute`` step with the student's kernel confined and bounded."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import Execute

from gradekit.nbgrader.course import GradeKit
from gradekit.nbgrader.kernel_sandbox import SandboxedKernelManager
from gradekit.nbgrader.resources import BUDGET, EXECUTION_PROBLEMS
from gradekit.nbgrader.runtime import runtime_of
from gradekit.sandbox.budget import UNLIMITED, Budget

#: Cells in a row that time out before the kernel counts as unresponsive (no more cells run).
MAX_TIMEOUTS_IN_A_ROW = 2
#: Times a notebook is executed again, from the start and for free, after its kernel's sandbox
#: (the kernels' fork server) was lost: never the student's doing.
MAX_KERNEL_SANDBOX_LOSSES = 2


class KernelSandboxLost(Exception):
    """The fork server of the kernel died under a running notebook (not the student's doing:
    a kernel cannot reach it)."""


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with the kernel confined and bounded.

    - The kernel runs in the sandbox (:mod:`gradekit.nbgrader.kernel_sandbox`), forked from a
      fork server of the step's runtime (:func:`gradekit.nbgrader.runtime.runtime_of`).
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

    What went wrong is kept in ``resources`` for
    :class:`gradekit.nbgrader.trusted_grades.TrustedGrades` (and the batch summary).
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

    def create_kernel_manager(self) -> Any:
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager) and km.servers is None:
            km.servers = runtime_of(self).kernels
        return km

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
        resources.setdefault(EXECUTION_PROBLEMS, []).extend(self.problems)
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
