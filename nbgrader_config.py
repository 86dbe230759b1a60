"""nbgrader configuration of the course (read by every nbgrader command run from this folder)."""

from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - injected by nbgrader

COURSE_ROOT = Path(__file__).resolve().parent

c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.course_id = "lecture5-mlp-from-scratch"
# The embedded default gradebook: SQLite next to this file (git-ignored).
c.CourseDirectory.db_url = f"sqlite:///{COURSE_ROOT / 'gradebook.db'}"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# `gradekit collect download.zip` (`--lms regex`, the default; Canvas, Moodle, Blackboard and
# Brightspace have presets: `--lms canvas`, ...): each file of the download is named
# `<student>__<notebook>.ipynb`; adapt this pattern to your LMS's file names. As nbgrader's
# zip_collect does, it is matched at the start of `<download name>/<path in the zip>`, hence `.*/`.
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/]+?)__(?P<file_id>[^/]+\.ipynb)$"

# Per-cell timeout (seconds) when nbgrader executes a notebook.
c.Execute.timeout = 60

# --- The kit's trusted graders -----------------------------------------------------------------
# The student's kernel runs only the public checks, sandboxed; the points of every autograded cell
# come from the hidden checks, run in this (trusted) process against the student's code, which
# runs in a separate sandboxed worker.
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from gradekit.nbgrader.check_metadata import CheckCellMetadata  # noqa: E402
from gradekit.nbgrader.hide_hidden_tests import HideHiddenTests  # noqa: E402
from gradekit.nbgrader.restore_metadata import RestoreCellMetadata  # noqa: E402
from gradekit.nbgrader.sandboxed_execute import SandboxedExecute  # noqa: E402
from gradekit.nbgrader.trusted_grades import TrustedGrades  # noqa: E402

# nbgrader's sanitizing steps, with one that restores every cell's nbgrader metadata from the
# gradebook, so that changed flags, a duplicated or a renamed grade cell cost only that cell (the
# missing cells are then put back by OverwriteCells). CheckCellMetadata
# is nbgrader's, validating each distinct cell once per process instead of once per notebook.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    RestoreCellMetadata,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]

c.Autograde.autograde_preprocessors = [
    HideHiddenTests,
    SandboxedExecute,
    TrustedGrades,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# A student who deleted a grade cell gets it back (and graded), instead of a crash.
c.OverwriteCells.add_missing_cells = True
# The reflection questions are locked read-only cells whose mark scheme sits right above the
# student's manually graded answer cell (where the formgrader puts the points and the comment).
# nbgrader only expects mark schemes in "task" cells, whose score box sits on the question instead;
# a locked cell's source, mark scheme included, is restored for the formgrader all the same, and
# ClearMarkScheme still removes it from the release and the feedback.
c.ClearMarkScheme.enforce_metadata = False
# Feedback shows the kit's messages, never the hidden test code or the mark schemes.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    CSSHTMLHeaderPreprocessor,
    ClearHiddenTests,
    ClearMarkScheme,
]

# --- Deadlines and late work (gradekit.nbgrader.deadlines)
# ------------------------------------------------- The due date of each assignment (no time zone:
# UTC); per-student extensions are rows of extensions.csv (student_id,assignment,extension).
# nbgrader's AssignLatePenalties step applies the late policy below; `gradekit deadlines` recomputes
# every penalty after a change, without grading.
c.GradeKit.due_dates = {"mlp_from_scratch": "2026-03-08 23:59:00 UTC"}
c.AssignLatePenalties.plugin_class = "gradekit.nbgrader.deadlines.LatePolicy"
c.LatePolicy.percent_per_day = 10.0  # of the score, per started day late
c.LatePolicy.cap_percent = 50.0  # at most half the score is taken
c.LatePolicy.grace_minutes = 15.0  # an upload that ends a few minutes late is on time
c.LatePolicy.cutoff_hours = 7 * 24.0  # a week late: no points (a hard cutoff)

c.GradeKit.suite = "grader_tests"
# The second, small assignment (the lecture's prerequisite) has its graders and reference beside
# each other; commands without --assignment work on the main one.
c.GradeKit.suites = {"softmax_regression": "assignments.softmax_regression.graders"}
c.GradeKit.default_assignment = "mlp_from_scratch"
# What the graders import: a batch worker must have the same files (it checks a digest).
c.GradeKit.trusted_packages = ["grader_tests", "reference_impl", "assignments"]
c.GradeKit.call_timeout = 30.0
c.GradeKit.memory_mb = 3072  # the kernel's and the grading worker's memory limit
c.GradeKit.isolation = "auto"  # bubblewrap where it works, else resource limits (logged)
# Imported once per grading process by the fork servers of the grading workers and of the
# kernels, instead of once per notebook (what the notebooks and the graders import; the engine's
# default is numpy alone). How torch is seeded, which of its types cross to the student's process
# and which of its messages feedback may show are declared with the checks, in each suite's
# Assignment (grader_tests/conftest.py: TORCH), not here.
c.GradeKit.preload = [
    "numpy",
    "torch",
    "torch._dynamo",
    "matplotlib.pyplot",
    "sklearn.datasets",
    "sklearn.neural_network",
    "sklearn.model_selection",
    "sklearn.preprocessing",
]
c.GradeKit.execution_budget = 600.0  # seconds nbgrader's kernel may spend on one notebook
c.GradeKit.submission_budget = 1800.0  # wall-clock seconds for one submission in all (fails alone)
c.GradeKit.max_output_mb = 16  # outputs kept per executed notebook
