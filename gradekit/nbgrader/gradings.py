"""The trusted gradings of one runtime: run one after another in a thread of their own, some
started ahead.

While nbgrader's kernel executes a notebook, the trusted checks grade its definitions in this
thread (:class:`gradekit.nbgrader.hide_hidden_tests.HideHiddenTests` starts them,
:class:`gradekit.nbgrader.trusted_grades.TrustedGrades` waits for them). At a submission's first
notebook the submission's other notebooks (sanitized exactly as nbgrader will sanitize them) are
graded next, so their results are ready, or nearly, when nbgrader reaches them. A batch worker
(:mod:`gradekit.batch.run`) submits its job's gradings to the same thread.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from traitlets.config import LoggingConfigurable

from gradekit.checks.grading import SuiteSessions
from gradekit.core.scoring import NotebookResult
from gradekit.nbgrader.course import GradeKit
from gradekit.nbgrader.resources import BUDGET, grade_in_course
from gradekit.nbgrader.sanitize import content_key, sanitized_siblings
from gradekit.sandbox.budget import UNLIMITED, Budget

P = ParamSpec("P")
T = TypeVar("T")


class Gradings:
    """The thread that runs (or waits for) trusted gradings, and the gradings started ahead.

    Under ``nbgrader autograde``: ``submission`` is the (student, assignment) being autograded,
    ``seen`` its notebooks that nbgrader has reached, ``started`` the gradings not yet claimed,
    by :func:`content_key`, ``budget`` the submission's time budget (started when nbgrader reaches
    its first notebook).
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradekit-grading")
        self._lock = threading.Lock()
        self.submission: tuple[str, str] | None = None
        self.seen: set[str] = set()
        self.started: dict[str, Future[NotebookResult]] = {}
        self.budget: Budget = UNLIMITED

    def submit(self, grade: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``grade(*args, **kwargs)`` after the gradings submitted before."""
        return self._executor.submit(grade, *args, **kwargs)

    def claim(
        self,
        nb: NotebookNode,
        resources: ResourcesDict,
        *,
        step: LoggingConfigurable,
        suites: SuiteSessions,
    ) -> Future[NotebookResult]:
        """The grading of this notebook: started ahead (same content) or started now.

        Args:
            nb: The notebook as nbgrader will execute it (sanitized).
            resources: Its nbgrader resources; the submission's budget is put in them.
            step: The nbgrader step asking (its configuration, log and runtime are used).
            suites: The suite sessions to grade in.
        """
        config = step.config
        info = resources["nbgrader"]
        with self._lock:
            submission = (info["student"], info["assignment"])
            first = submission != self.submission or info["notebook"] in self.seen
            if first:
                self._cancel_started()
                self.submission, self.seen = submission, set()
                self.budget = Budget.start(GradeKit(config=config).submission_budget)
            self.seen.add(info["notebook"])
            resources[BUDGET] = budget = self.budget
            grading = self.started.pop(content_key(nb, info["notebook"]), None)
            if grading is not None:
                step.log.info("Trusted grading of %s was started ahead", info["notebook"])
            else:
                nb = copy.deepcopy(nb)
                grading = self.submit(grade_in_course, nb, resources, config, suites, budget)
            if first:
                for name, (ahead, ahead_resources) in sanitized_siblings(resources, config, step):
                    self.started[content_key(ahead, name)] = self.submit(
                        grade_in_course, ahead, ahead_resources, config, suites, budget
                    )
            return grading

    def close(self) -> None:
        """Cancel what has not started; the grading running, if any, ends on its own."""
        with self._lock:
            self._cancel_started()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _cancel_started(self) -> None:
        for future in self.started.values():
            future.cancel()
        self.started.clear()
