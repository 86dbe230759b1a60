"""The course folder: its nbgrader configuration and every path, from nbgrader's one template.

``Course.find()`` locates ``nbgrader_config.py`` (here or above), loads it, and answers where
things live (``course.path("submitted", student="alice")``) through nbgrader's own
``CourseDirectory.format_path``, so the kit and nbgrader never disagree about a folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets import Dict, Float, Int, List, Unicode
from traitlets.config import Config, LoggingConfigurable
from traitlets.config.loader import PyFileConfigLoader

from gradekit.core.cells import grade_id
from gradekit.sandbox.limits import Limits

CONFIG_FILE = "nbgrader_config.py"
#: The line of a test cell that tells students how many hidden checks it has.
HIDDEN_COUNT = re.compile(r"(# Hidden checks: )\d+ more checks?")


class GradeKit(LoggingConfigurable):
    """Settings of the kit's graders (set them in ``nbgrader_config.py``)."""

    suite = Unicode(
        "checks",
        help="The check suite of every assignment not in `suites`: a package in the course root "
        "(a dotted name for a package inside another), installed on workers too.",
    ).tag(config=True)
    suites = Dict(
        value_trait=Unicode(),
        default_value={},
        help="Assignment -> its check suite (a package as in `suite`), for a course whose "
        "assignments have graders of their own.",
    ).tag(config=True)
    trusted_packages = List(
        Unicode(),
        [],
        help="Package folders in the course root the graders use (a worker must have the same).",
    ).tag(config=True)
    default_assignment = Unicode(
        "",
        help="The assignment a command works on when none is given (default: the only one).",
    ).tag(config=True)
    max_submission_mb = Int(
        64, help="Size of a submission's non-notebook files sent to a worker, in MiB."
    ).tag(config=True)
    call_timeout = Float(30.0, help="Seconds one call into student code may take.").tag(config=True)
    load_timeout = Float(90.0, help="Seconds for loading a notebook's definitions.").tag(
        config=True
    )
    statement_timeout = Float(
        15.0, help="Seconds one statement of a notebook's definitions may take while loading."
    ).tag(config=True)
    notebook_budget = Float(300.0, help="Seconds of student code per notebook in total.").tag(
        config=True
    )
    memory_mb = Int(3072, help="Memory limit of the student's process, in MiB.").tag(config=True)
    max_restarts = Int(4, help="Restarts of a crashed student process per notebook.").tag(
        config=True
    )

    due_dates = Dict(
        value_trait=Unicode(),
        help="Due date of each assignment, e.g. {'hw1': '2026-03-08 23:59:00 Europe/Paris'} "
        "(no time zone: UTC). Late penalties: c.AssignLatePenalties.plugin_class.",
    ).tag(config=True)

    submission_budget = Float(
        1800.0,
        help="Wall-clock seconds for grading one submission as a whole: executing its notebooks "
        "and running their checks. A submission that uses them up fails alone (the kernel runs "
        "no more cells, the remaining checks fail saying so; a batch worker still busy 30 s "
        "later is stopped), while everyone else is graded. 0: no budget.",
    ).tag(config=True)
    execution_budget = Float(
        600.0, help="Seconds nbgrader's kernel may spend executing one notebook in total."
    ).tag(config=True)
    max_output_mb = Int(
        16, help="Outputs a notebook's execution may produce, in MiB (the rest is dropped)."
    ).tag(config=True)
    preload = List(
        Unicode(),
        list(Limits.preload),
        help="Modules the sandbox's fork servers import once, for every student process and "
        "kernel: what the course's notebooks and checks import (default: numpy alone; a module "
        "not listed is imported by each process that needs it).",
    ).tag(config=True)
    isolation = Unicode(
        "auto",
        help="How student code is confined: auto (the strongest this machine allows), "
        "bubblewrap (fail without it) or rlimits (resource limits only).",
    ).tag(config=True)

    def limits(self) -> Limits:
        return Limits(
            isolation=self.isolation,
            preload=tuple(self.preload),
            call_timeout=self.call_timeout,
            load_timeout=self.load_timeout,
            statement_timeout=self.statement_timeout,
            notebook_budget=self.notebook_budget,
            memory_mb=self.memory_mb,
            max_restarts=self.max_restarts,
        )


@dataclass(frozen=True)
class Course:
    """An nbgrader course folder and its configuration."""

    root: Path
    config: Config

    @classmethod
    def find(cls, start: Path | None = None) -> Course:
        """The course whose ``nbgrader_config.py`` is in ``start`` or the nearest folder above."""
        start = (start or Path.cwd()).resolve()
        for folder in [start, *start.parents]:
            if (folder / CONFIG_FILE).is_file():
                config = PyFileConfigLoader(CONFIG_FILE, path=str(folder)).load_config()
                return cls(root=folder, config=config)
        raise FileNotFoundError(f"no {CONFIG_FILE} in {start} or above: not inside a course")

    @property
    def coursedir(self) -> CourseDirectory:
        return CourseDirectory(config=self.config, root=str(self.root))

    @property
    def settings(self) -> GradeKit:
        return GradeKit(config=self.config)

    def suite_name(self, assignment: str) -> str:
        """The package of ``assignment``'s check suite (``checks``, ``a.b.graders``)."""
        settings = self.settings
        return settings.suites.get(assignment, settings.suite)

    def suite(self, assignment: str) -> Path:
        """The folder of ``assignment``'s check suite."""
        return self.root.joinpath(*self.suite_name(assignment).split("."))

    def api(self) -> NbGraderAPI:
        """nbgrader's own API object for this course."""
        return NbGraderAPI(coursedir=self.coursedir, config=self.config)

    def path(self, step: str, *, assignment: str, student: str = ".") -> Path:
        """The folder of one step (``source``, ``release``, ``submitted``, ``autograded``,
        ``feedback``) for an assignment (and student)."""
        coursedir = self.coursedir
        directory = getattr(coursedir, f"{step}_directory")
        return Path(coursedir.format_path(directory, student, assignment))

    @property
    def assignments(self) -> list[str]:
        """Assignments that have a source folder."""
        source = self.root / self.coursedir.source_directory
        return sorted(p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))

    def notebooks(self, assignment: str) -> list[Path]:
        """The assignment's source notebooks, in order."""
        return sorted(self.path("source", assignment=assignment).glob("*.ipynb"))

    def students(self, assignment: str) -> list[str]:
        """Students with a submitted folder for the assignment."""
        submitted = self.root / self.coursedir.submitted_directory
        if not submitted.is_dir():
            return []
        return sorted(
            p.name
            for p in submitted.iterdir()
            if (p / assignment).is_dir() and not p.name.startswith(".")
        )


def update_hidden_check_counts(notebook: Path, counts: dict[str, int]) -> bool:
    """Write the number of hidden checks into each test cell's ``# Hidden checks: N`` line.

    Returns:
        Whether the notebook changed (it is rewritten only then).
    """
    nb = nbformat.read(notebook, as_version=nbformat.NO_CONVERT)
    changed = False
    for cell in nb.cells:
        name = grade_id(cell)
        if name in counts:
            noun = " more check" if counts[name] == 1 else " more checks"
            updated = HIDDEN_COUNT.sub(rf"\g<1>{counts[name]}{noun}", cell.source)
            changed |= updated != cell.source
            cell.source = updated
    if changed:
        nbformat.write(nb, notebook)
    return changed
