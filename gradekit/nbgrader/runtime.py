"""What grading keeps between notebooks and submissions: one :class:`Runtime`, passed in.

Starting a check suite's pytest session, a fork server of student processes or one of kernels
costs seconds, so they outlive a notebook. Nothing of them is kept by a module: a
:class:`Runtime` owns them, whoever grades creates it, hands it to the steps and closes it.

- ``gradekit autograde`` (:func:`gradekit.batch.dask_run.autograde_class`): the coordinator
  creates one for the batch (it sanitizes and stores), each Dask worker one of its own
  (:class:`gradekit.batch.run.WorkerRuntime`), passed to :func:`gradekit.batch.run.run_job`.
- ``nbgrader autograde`` (and nbgrader's API, the formgrader) constructs the kit's steps itself:
  a step's ``parent`` is nbconvert's exporter, whose parent is nbgrader's converter, whose
  parent is nbgrader's app or API object. :func:`runtime_of` walks up that chain; the first
  object that carries a runtime lends it, else a new one is put on the top of the chain (one
  per ``nbgrader autograde`` command or API object, as the conversions of one API object share
  their suites) and closed when that object is garbage-collected, at the latest when the process
  exits (``weakref.finalize``: nbgrader has no hook at the end of a conversion).
- A step run on its own (a test) gets a runtime of its own the same way.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitlets.config import LoggingConfigurable

from gradekit.checks.grading import SuiteSessions
from gradekit.nbgrader.gradings import Gradings
from gradekit.nbgrader.kernel_sandbox import KernelServers
from gradekit.sandbox.limits import Limits

#: The longest wait for a suite's collection before a submission's budget starts anyway.
WARM_UP_SECONDS = 300.0
#: The attribute of an object in a step's ``parent`` chain that holds its runtime.
RUNTIME_ATTRIBUTE = "gradekit_runtime"


@dataclass
class Runtime:
    """The long-lived parts of grading in one process, for one owner; :meth:`close` ends them.

    Attributes:
        suites: The check suites' pytest sessions (and, in their threads, the fork servers of
            the students' processes).
        kernels: The fork servers of the students' Jupyter kernels, one per limits and thread.
        gradings: The thread that runs trusted gradings while kernels execute, and the gradings
            started ahead.
        validated_cells: Cells (type and nbgrader metadata, as JSON) that passed nbgrader's
            metadata validation (:mod:`gradekit.nbgrader.check_metadata`).
    """

    suites: SuiteSessions = field(default_factory=SuiteSessions)
    kernels: KernelServers = field(default_factory=KernelServers)
    gradings: Gradings = field(default_factory=Gradings)
    validated_cells: set[str] = field(default_factory=set)

    def warm_up(
        self, *, suite: Path, kernel_limits: Limits | None, timeout: float = WARM_UP_SECONDS
    ) -> None:
        """Start what grading a submission needs, before the submission's budget starts.

        Starting a suite's session (importing the libraries, collecting the checks) and a kernel
        fork server takes seconds, more on a busy machine; it is the kit's cost, not the first
        student's on a worker. This starts this thread's kernel fork server for
        ``kernel_limits`` (none if ``None``: nothing will be executed; its preloading goes on
        meanwhile) and waits up to ``timeout`` seconds for ``suite``'s collection; both return
        at once when they are running already. The fork servers of the students' check
        processes still start with the first notebook's checks.
        """
        if kernel_limits is not None:
            self.kernels.for_this_thread(kernel_limits)
        self.suites.of(suite).wait_collected(timeout)

    def close(self) -> None:
        """Stop everything the runtime started (the gradings not started are cancelled)."""
        self.gradings.close()
        self.kernels.close()
        self.suites.close()
        self.validated_cells.clear()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RuntimeParent(LoggingConfigurable):
    """The parent of nbgrader steps run outside nbgrader's converters (a batch job): lends them
    ``runtime``.

    Args:
        runtime: The runtime its children use.
        **kwargs: For ``LoggingConfigurable`` (``config``, ``parent``).
    """

    def __init__(self, runtime: Runtime, **kwargs: Any):
        super().__init__(**kwargs)
        setattr(self, RUNTIME_ATTRIBUTE, runtime)


def runtime_of(step: Any) -> Runtime:
    """The runtime of ``step``'s run: lent by ``step`` or the first of its parents that has one,
    else a new one on the top of the chain (see the module's docstring)."""
    owner = step
    while True:
        runtime = getattr(owner, RUNTIME_ATTRIBUTE, None)
        if isinstance(runtime, Runtime):
            return runtime
        parent = getattr(owner, "parent", None)
        if parent is None:
            break
        owner = parent
    runtime = Runtime()
    setattr(owner, RUNTIME_ATTRIBUTE, runtime)
    weakref.finalize(owner, runtime.close)
    return runtime
