"""gradekit.term.report: the per-check CSV and the class report, on synthetic classes.

The main class has 20 students ``s00`` … ``s19``; student ``i`` passes a check by a rule of ``i``
(below), so every number is checkable by hand. Totals rise with ``i``:

========== ===== ================================= ============ ==================
notebook   cell  check (weight)                    worth        passed by
========== ===== ================================= ============ ==================
nb1        a     easy (1)                          0.75 of 3    everyone
nb1        a     hard (1)                          0.75         i >= 10
nb1        a     tricky (2)                        1.5          i >= 5
nb2        b     solid (9)                         1.8 of 2     i >= 3
nb2        b     inverted (1)                      0.2          i < 10
========== ===== ================================= ============ ==================

Totals: 0.95 (i < 3), 2.75 (i = 3, 4), 4.25 (5 <= i < 10), 4.8 (i >= 10).
"""

from __future__ import annotations

import csv
import tomllib
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from markupsafe import escape
from PIL import Image

from gradekit.core.scoring import CheckResult, ItemResult, NotebookResult
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.results import write_results
from gradekit.term.report.analysis import analyse_results
from gradekit.term.report.checks_csv import CSV_COLUMNS, check_rows, write_check_csv
from gradekit.term.report.html import write_report
from gradekit.term.report.results import ClassResults, StudentResults, collect_results
from gradekit.term.report.stats import discrimination_index, point_biserial

ROOT = Path(__file__).resolve().parent.parent

# A warning (e.g. numpy's "invalid value" on a constant column) fails the test.
pytestmark = pytest.mark.filterwarnings("error")

STUDENTS = [f"s{i:02d}" for i in range(20)]
ONE_OVER_M = "the 1/m factor of the mean is missing"
CHECK_NAMES = {"easy", "hard[relu-batch1]", "tricky", "solid", "inverted"}


def check(
    item: str,
    name: str,
    weight: float,
    passed: bool,
    message: str = "",
    kind: str = "",
    mistake: str = "",
) -> CheckResult:
    return CheckResult(
        item=item,
        name=name,
        weight=weight,
        passed=passed,
        message="" if passed else message or "wrong result",
        kind=kind or ("passed" if passed else "failed"),
        mistake="" if passed else mistake,
    )


def student_results(i: int) -> StudentResults:
    """Student ``s{i}`` of the table in the module's docstring."""
    hard_message = f"largest error 2 at index (0,). Likely mistake: {ONE_OVER_M}. Look again."
    cell_a = ItemResult(
        "a",
        3.0,
        [
            check("a", "easy", 1, True),
            check(
                "a",
                "hard[relu-batch1]",
                1,
                i >= 10,
                *((hard_message, "", ONE_OVER_M) if i % 2 == 0 else ()),
            ),
            check("a", "tricky", 2, i >= 5, f"Likely mistake: {ONE_OVER_M}.", "", ONE_OVER_M),
        ],
    )
    cell_b = ItemResult(
        "b", 2.0, [check("b", "solid", 9, i >= 3), check("b", "inverted", 1, i < 10)]
    )
    return StudentResults(
        student=STUDENTS[i],
        notebooks=(
            NotebookResult("nb1", {"a": cell_a}),
            NotebookResult("nb2", {"b": cell_b}),
        ),
    )


@pytest.fixture
def results() -> ClassResults:
    return ClassResults(
        assignment="hw", students=tuple(student_results(i) for i in range(len(STUDENTS)))
    )


#: A check that failed because a statement was skipped when the definitions loaded.
SKIPPED = (
    "easy raised NameError at line 3 of cell 4: name 'HIDDEN' is not defined. Line 1 of cell 4, "
    "which sets HIDDEN, is not run when your definitions are loaded for grading"
)


@pytest.fixture
def troubled() -> ClassResults:
    """Two students: one whose code timed out, crashed and took a forbidden shortcut, one
    whose notebook could not be loaded; student text includes markup."""
    script = "<script>alert('student')</script>"
    shortcut = ItemResult(
        "b",
        2.0,
        [
            check("b", "solid", 1, True),
            check("b", "integrity", 0, False, "uses torch", kind="forbidden"),
        ],
    )
    broken = ItemResult(
        "a",
        3.0,
        [
            check("a", "easy", 1, False, "took longer than 30 s", kind="timeout"),
            check("a", "hard", 1, False, f"crashed: {script}", kind="crash"),
            check("a", "tricky", 1, False, f"Likely mistake: {script}.", "failed", script),
        ],
    )
    return ClassResults(
        assignment="hw",
        students=(
            StudentResults(
                "<b>mallory</b>",
                (
                    NotebookResult(
                        "nb1", {"a": broken}, incidents=["crash: hard: killed by signal 9"]
                    ),
                    NotebookResult("nb2", {"b": shortcut}),
                ),
            ),
            StudentResults(
                "trent",
                (
                    NotebookResult(
                        "nb1",
                        {
                            "a": ItemResult(
                                "a", 3.0, [check("a", "easy", 1, False, SKIPPED, "load")]
                            )
                        },
                        load_problems=["SyntaxError in cell 3"],
                    ),
                ),
            ),
        ),
    )


def by_check(analysis, name):
    return next(stats for stats in analysis.checks if stats.check == name)


def test_csv_has_one_row_per_student_and_check_with_its_points(results, tmp_path):
    path = write_check_csv(results=results, path=tmp_path / "checks.csv")
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(STUDENTS) * len(CHECK_NAMES)
    tricky = {row["student"]: row for row in rows if row["check"] == "tricky"}
    assert (tricky["s04"]["max_points"], tricky["s04"]["points"]) == ("1.5", "0")
    assert (tricky["s05"]["max_points"], tricky["s05"]["points"]) == ("1.5", "1.5")
    assert (tricky["s04"]["passed"], tricky["s05"]["passed"]) == ("false", "true")
    assert tricky["s04"]["mistake"] == ONE_OVER_M
    assert ONE_OVER_M in tricky["s04"]["message"]
    assert tricky["s05"]["message"] == ""
    assert tricky["s04"]["notebook"] == "nb1" and tricky["s04"]["item"] == "a"
    earned = {student: 0.0 for student in STUDENTS}
    for row in rows:
        earned[row["student"]] += float(row["points"])
    assert earned == pytest.approx({s.student: s.points for s in results.students})


def test_checks_of_a_forbidden_cell_earn_nothing(troubled):
    rows = [row for row in check_rows(results=troubled) if row.item == "b"]
    solid = next(row for row in rows if row.check == "solid")
    assert solid.passed and solid.max_points == 2.0 and solid.points == 0.0


def test_failure_rates_per_check(results):
    analysis = analyse_results(results=results)
    rates = {stats.check: stats.failure_rate for stats in analysis.checks}
    assert rates == {
        "easy": 0.0,
        "hard[relu-batch1]": 0.5,
        "tricky": 0.25,
        "solid": 0.15,
        "inverted": 0.5,
    }
    assert [stats.failure_rate for stats in analysis.checks] == [0.5, 0.5, 0.25, 0.15, 0.0]


@pytest.mark.parametrize(
    ("name", "index"),
    [
        pytest.param("hard[relu-batch1]", 1.0, id="only-weak-fail"),
        pytest.param("solid", 0.6, id="three-weakest-fail"),
        pytest.param("easy", 0.0, id="everyone-passes"),
        pytest.param("inverted", -1.0, id="only-strong-fail"),
    ],
)
def test_discrimination_index_compares_top_and_bottom_27_percent(results, name, index):
    # 5 students per group (27 % of 20): s00..s04, and five of the ten tied at the top
    # (s10..s19), who count in equal parts.
    assert by_check(analyse_results(results=results), name).discrimination == pytest.approx(index)


@pytest.mark.parametrize(
    "passed",
    [
        pytest.param([False, False, True, True, False, False], id="first-tied-pass"),
        pytest.param([False, False, False, False, True, True], id="last-tied-pass"),
    ],
)
def test_students_tied_at_a_group_edge_count_in_equal_parts(passed):
    # Groups of 2 (27 % of 6); the top group takes 2 of the 4 tied at 3, half of whom passed.
    totals = [1.0, 2.0, 3.0, 3.0, 3.0, 3.0]
    assert discrimination_index(passed=passed, totals=totals) == pytest.approx(0.5)


def test_point_biserial_is_the_correlation_of_passing_with_the_total(results):
    analysis = analyse_results(results=results)
    totals = [analysis.totals[student] for student in STUDENTS]
    passed = [i >= 3 for i in range(len(STUDENTS))]
    expected = np.corrcoef(np.array(passed, dtype=float), totals)[0, 1]
    assert by_check(analysis, "solid").point_biserial == pytest.approx(expected)
    assert by_check(analysis, "hard[relu-batch1]").point_biserial > 0
    assert by_check(analysis, "inverted").point_biserial < 0


@pytest.mark.parametrize(
    ("passed", "totals"),
    [
        pytest.param([True] * 4, [1.0, 2.0, 3.0, 4.0], id="everyone-passes"),
        pytest.param([False] * 4, [1.0, 2.0, 3.0, 4.0], id="no-one-passes"),
        pytest.param([True, False, True, False], [3.3] * 4, id="equal-totals"),
        pytest.param([True], [1.0], id="one-student"),
        pytest.param([], [], id="no-students"),
    ],
)
def test_nothing_to_separate_gives_zero_discrimination_without_warnings(passed, totals):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert discrimination_index(passed=passed, totals=totals) == 0.0
        assert point_biserial(passed=passed, totals=totals) == 0.0


def test_score_summary_of_autograded_and_gradebook_totals(results):
    analysis = analyse_results(results=results, gradebook_totals={"s00": 10.0, "s01": 20.0})
    summary = analysis.autograded
    assert summary is not None and summary.students == 20
    assert summary.mean == pytest.approx(3.88)
    assert summary.median == pytest.approx((4.25 + 4.8) / 2)
    assert (summary.minimum, summary.maximum) == pytest.approx((0.95, 4.8))
    assert analysis.gradebook is not None
    assert (analysis.gradebook.students, analysis.gradebook.mean) == (2, 15.0)


def test_cell_statistics(results):
    cell_a, cell_b = analyse_results(results=results).cells
    assert (cell_a.notebook, cell_a.item, cell_a.checks, cell_a.students) == ("nb1", "a", 3, 20)
    assert cell_a.mean_points == pytest.approx((5 * 0.75 + 5 * 2.25 + 10 * 3.0) / 20)
    assert cell_a.failure_rate == pytest.approx(15 / 60)
    assert (cell_a.full_marks, cell_a.zero_points) == (10, 0)
    assert (cell_b.full_marks, cell_b.zero_points) == (7, 0)  # s03..s09


def test_mistakes_count_students_once_per_cell(results):
    (mistake,) = analyse_results(results=results).mistakes
    assert (mistake.mistake, mistake.notebook, mistake.item) == (ONE_OVER_M, "nb1", "a")
    # hard: s00 s02 s04 s06 s08; tricky: s00..s04.
    assert mistake.students == 7
    assert mistake.checks == ("hard[relu-batch1]", "tricky")


def test_incidents_list_timeouts_crashes_shortcuts_and_notebook_problems(troubled):
    incidents = analyse_results(results=troubled).incidents
    found = {(i.student, i.notebook, i.item, i.kind, i.checks) for i in incidents}
    assert found == {
        ("<b>mallory</b>", "nb1", "", "incident", 0),
        ("<b>mallory</b>", "nb1", "a", "timeout", 1),
        ("<b>mallory</b>", "nb1", "a", "crash", 1),
        ("<b>mallory</b>", "nb2", "b", "forbidden", 1),
        ("trent", "nb1", "", "load problem", 0),
        ("trent", "nb1", "a", "load", 1),
    }
    (skipped,) = [i for i in incidents if i.kind == "load"]
    assert skipped.detail == SKIPPED, "the instructor sees the cell, the line and why"


def test_report_names_every_check_and_links_valid_pngs(results, tmp_path):
    page = write_report(results=results, folder=tmp_path / "report")
    html = page.read_text(encoding="utf-8")
    for name in CHECK_NAMES:
        assert f">{escape(name)}</td>" in html, name
    images = [part.split('"')[0] for part in html.split('<img src="')[1:]]
    assert len(images) == 4
    for image in images:
        path = page.parent / image
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(path) as png:
            png.verify()


def test_report_escapes_student_text(troubled, tmp_path):
    """Student ids, check messages and diagnosed mistakes are text the student controls."""
    not_graded = {"<i>eve</i>": "nbgrader failed: <img src=x onerror=alert(1)>"}
    late = {"<script>late()</script>": ("1 h late", 0.5)}
    page = write_report(results=troubled, folder=tmp_path, not_graded=not_graded, late=late)
    html = page.read_text(encoding="utf-8")
    for raw in ("<script>alert(", "<b>mallory", "<i>eve", "<img src=x", "<script>late("):
        assert raw not in html
        assert str(escape(raw)) in html
    assert html.count("<script>") == 1, "the page's own script only"


def test_every_template_file_is_package_data():
    """An installed kit has the page's template, style and script (pyproject's package-data)."""
    package = ROOT / "gradekit" / "term" / "report"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["gradekit.term.report"]
    declared = {path for pattern in patterns for path in package.glob(pattern)}
    assert {"report.html.j2", "report.css", "report.js"} <= {path.name for path in declared}
    assert declared == set((package / "templates").iterdir())


def test_report_lists_students_that_could_not_be_graded(results, tmp_path):
    page = write_report(results=results, folder=tmp_path, not_graded={"zoe": "kernel died"})
    html = page.read_text(encoding="utf-8")
    assert "<td>zoe</td>" in html and "kernel died" in html


def test_report_of_an_empty_class(tmp_path):
    page = write_report(results=ClassResults(assignment="hw", students=()), folder=tmp_path)
    assert "0 students" in page.read_text(encoding="utf-8")


def make_course(folder: Path) -> Course:
    (folder / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "test"\n', encoding="utf-8"
    )
    return Course.find(folder)


def write_autograded(course: Course, student: str, result: NotebookResult | None) -> None:
    folder = course.path("autograded", assignment="hw", student=student)
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    if result is not None:
        write_results(nb, result)
    nbformat.write(nb, folder / f"{result.notebook if result else 'plain'}.ipynb")


def test_collect_reads_every_autograded_notebook(results, tmp_path):
    course = make_course(tmp_path)
    for student in results.students[:3]:
        for notebook in student.notebooks:
            write_autograded(course, student.student, notebook)
    write_autograded(course, "ungraded", None)
    collected = collect_results(course=course, assignment="hw")
    assert collected.assignment == "hw"
    assert [s.student for s in collected.students] == STUDENTS[:3]
    for got, expected in zip(collected.students, results.students, strict=False):
        assert [nb.to_json() for nb in got.notebooks] == [nb.to_json() for nb in expected.notebooks]


def test_the_batch_summary_names_checks_that_failed_because_of_loading():
    from types import SimpleNamespace

    from gradekit.batch.dask_run import problems_of

    item = ItemResult("a", 3.0, [check("a", "easy", 1, False, SKIPPED, "load")])
    outcome = SimpleNamespace(results=lambda: {"nb1_x": NotebookResult("nb1", {"a": item})})
    assert problems_of(outcome) == [  # type: ignore[arg-type]
        f"nb1: 1 check(s) of a failed because of loading: {SKIPPED}"
    ]
