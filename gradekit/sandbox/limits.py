"""The knobs an instructor sets for the processes that run student code.

:class:`Limits` are set in ``nbgrader_config.py`` (``GradeKit.*``) and read by everything that
starts, times or confines a worker (:mod:`gradekit.sandbox.workers`,
:mod:`gradekit.sandbox.fork_server`, :mod:`gradekit.sandbox.submission`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource limits for the processes that run student code.

    Attributes:
        call_timeout: Seconds one request (a call into student code) may take.
        load_timeout: Seconds for starting the process and loading the notebook's definitions.
        statement_timeout: Seconds one statement of the definitions may take while loading (a
            slower one fails alone, as if it raised).
        notebook_budget: Seconds of student code per notebook in total; later checks fail fast.
        memory_mb: Address-space limit of the student's process, in MiB.
        max_response_mb: Largest answer accepted from the student's process, in MiB.
        max_restarts: How often a crashed or timed-out process is restarted for later checks.
        isolation: ``auto`` (the strongest available), ``bubblewrap`` or ``rlimits``.
        preload: Modules a fork server imports once for all workers (empty: one process per
            worker, no fork server); the course lists what its notebooks and checks import.
    """

    call_timeout: float = 30.0
    load_timeout: float = 90.0
    statement_timeout: float = 15.0
    notebook_budget: float = 300.0
    memory_mb: int = 3072
    max_response_mb: int = 16
    max_restarts: int = 4
    isolation: str = "auto"
    preload: tuple[str, ...] = ("numpy",)
