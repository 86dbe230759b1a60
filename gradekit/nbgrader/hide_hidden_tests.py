"""The step before execution: hidden test code never enters the student's kernel, and the trusted
grading starts.

:class:`HideHiddenTests` runs before nbgrader's ``Execute``: the student's kernel runs only the
public part of each test cell. It also starts the trusted grading in a thread, since grading
needs only the notebook's definitions: the checks run while the kernel executes the notebook. At
a submission's first notebook it also starts grading the submission's other notebooks (sanitized
exactly as nbgrader will sanitize them), so their results are ready, or nearly, when nbgrader
reaches them. :class:`gradekit.nbgrader.trusted_grades.TrustedGrades` puts the hidden code back
and waits for the grading.
"""

from __future__ import annotations

import copy
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from gradekit.core.cells import HiddenTests, is_autograded_test
from gradekit.core.scoring import NotebookResult
from gradekit.nbgrader.course import GradeKit
from gradekit.nbgrader.resources import BUDGET, GRADING, STASH, grade_in_course
from gradekit.nbgrader.sanitize import content_key, sanitized_siblings
from gradekit.sandbox.budget import UNLIMITED, Budget


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
        resources[STASH] = stash
        return nb, resources


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
                grading = self.executor.submit(grade_in_course, nb, resources, config, budget)
            if first:
                for name, (ahead, ahead_resources) in sanitized_siblings(resources, config):
                    key = content_key(ahead, name)
                    self.started[key] = self.executor.submit(
                        grade_in_course, ahead, ahead_resources, config, budget
                    )
            return grading


_gradings = _Gradings()
