"""A submission's wall-clock budget, threaded through everything that grades it.

``c.GradeKit.submission_budget`` seconds cover one submission's whole grading: its kernels
executing its notebooks and its checks calling its code, together. Everything that waits on
student code waits at most until the budget's end (:meth:`Budget.clamp`); once it is used up,
the kernel runs no more cells and the checks not yet run fail at once, each saying why
(:meth:`Budget.reason`), so that submission fails alone while everyone else is graded.

Where the trusted side could still be kept busy past the end (work on the trusted side that no
per-call timeout bounds), a hard stop ends the grading :data:`HARD_STOP_MARGIN` seconds after the
budget: the notebook's check session is abandoned and the reason written into every check not
run. As the last line of defence, a Dask worker still busy with the job a margin later is ended
by :func:`faulthandler.dump_traceback_later` (:func:`hard_stop`), which fires from a thread of
its own even while another thread holds the interpreter's lock.
"""

from __future__ import annotations

import contextlib
import faulthandler
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Seconds past a budget's end before the hard stop (a normal end after the budget takes a
#: few seconds: the checks not yet run fail at once, the kernel is interrupted).
HARD_STOP_MARGIN = 30.0


@dataclass(frozen=True)
class Budget:
    """The wall-clock budget of one submission.

    Attributes:
        seconds: The budget.
        ends: When it is used up (``time.monotonic()``).
    """

    seconds: float
    ends: float

    @classmethod
    def start(cls, seconds: float) -> Budget:
        """A budget of ``seconds`` from now (``0`` or less, or infinite: no budget)."""
        if seconds <= 0 or not math.isfinite(seconds):
            return cls(math.inf, math.inf)
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.ends - time.monotonic())

    @property
    def exceeded(self) -> bool:
        return time.monotonic() >= self.ends

    def clamp(self, timeout: float) -> float:
        """``timeout``, or what is left of the budget if that is less."""
        return min(timeout, self.left())

    def binds(self, timeout: float) -> bool:
        """Whether a wait of ``timeout`` seconds from now would be cut by the budget."""
        return self.left() < timeout

    def reason(self) -> str:
        """Why grading stopped, for the feedback and the summary."""
        return f"the submission used up its time budget of {self.seconds:g} s"

    def hard_stop_in(self) -> float:
        """Seconds from now until the hard stop (negative once past it; infinite without a
        budget)."""
        return self.ends + HARD_STOP_MARGIN - time.monotonic()


#: Dask event topic of the jobs a batch worker started: ``{"student", "budget", "started"}``
#: (wall-clock time), so that the coordinator can tell a job stopped for its budget from one
#: whose worker was lost for another reason.
JOB_EVENTS = "gradekit-jobs"
#: Time a worker gives its event loop to send the announcement of a job.
EVENT_FLUSH_SECONDS = 0.2


@contextlib.contextmanager
def hard_stop(student: str, budget: Budget) -> Iterator[None]:
    """In a Dask worker: announce the job (:data:`JOB_EVENTS`) and end the worker's process
    if the job still runs twice :data:`HARD_STOP_MARGIN` seconds after ``budget`` (the graceful
    hard stop of :func:`gradekit.checks.grading.grade_notebook` has had its chance by then).

    :func:`faulthandler.dump_traceback_later` is the timer: a C thread that needs no interpreter
    lock, so it fires even while a thread is stuck in a long C call; it writes every thread's
    traceback to stderr (the worker's log) and exits. Its process's student processes die with
    it (bubblewrap's ``--die-with-parent``). Dask's nanny starts a new worker; the scheduler
    reports the job as failed (``KilledWorker``; the kit's cluster allows no retry). Outside a
    Dask worker, or without a budget, nothing is done.
    """
    worker = _dask_worker()
    if worker is None or not math.isfinite(budget.ends):
        yield
        return
    worker.log_event(
        JOB_EVENTS, {"student": student, "budget": budget.seconds, "started": time.time()}
    )
    # The event leaves with the worker's next batch of messages, from its event loop's thread:
    # give that thread a moment before the job, which might keep the interpreter's lock.
    time.sleep(EVENT_FLUSH_SECONDS)
    last = max(1.0, budget.hard_stop_in() + HARD_STOP_MARGIN)
    faulthandler.dump_traceback_later(last, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def _dask_worker() -> Any:
    """The Dask worker running this task, if any."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None


#: No budget at all (direct calls, the instructor's own kernel).
UNLIMITED = Budget(math.inf, math.inf)
