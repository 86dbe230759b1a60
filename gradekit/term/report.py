"""Class-scale reports of autograding: which checks, grade cells and mistakes a class got wrong.

nbgrader exports totals only. The kit stores every check's result in each autograded notebook
(metadata ``gradekit``, read by :func:`gradekit.nbgrader.results.read_results`); this module
reads them for a whole class and writes

- :func:`write_check_csv`: one row per (student, check), for a spreadsheet or a data frame;
- :func:`write_report`: one HTML page, with PNG figures beside it, that says where the class
  lost points: a score summary and distribution, the failure rate and discrimination of every
  check, the mean points of every grade cell, the most common diagnosed mistakes, and the
  students whose code timed out, crashed or took a forbidden shortcut.

Discrimination (how well a check separates strong from weak students) is reported two ways, both
against the student's total autograded points:

- the **upper-lower index** ``D = p_upper - p_lower``: the share of the top 27 % of students
  (by total) who passed the check minus the share of the bottom 27 % who did (Kelley's groups;
  ``round(0.27 n)`` students each, at least one; students tied with a group's last one share
  its remaining places equally). ``D`` lies in [-1, 1]; a check only weak students fail has
  ``D > 0``; one that strong students fail more often than weak ones has ``D < 0`` (worth a
  look: a wrong check, or a task that rewards a shortcut?).
- the **point-biserial correlation** ``r_pb``: Pearson's correlation between passing (1/0) and
  the total, over every student with a result for the check. It is not corrected for the check's
  own points (each check is a small share of the total).

Both are 0 when there is nothing to separate: a check everyone (or no one) passes, all totals
equal, or fewer than two students.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import matplotlib
import nbformat
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from gradekit.core.scoring import POINT_DECIMALS, ItemResult, NotebookResult
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.gradebook import scores
from gradekit.nbgrader.results import read_results

#: Check kinds that say the student's code misbehaved (not merely computed a wrong result).
INCIDENT_KINDS = ("timeout", "crash", "forbidden", "load")
#: Decimals of a check's points (more than a cell's: a cell's checks must add up to its points).
CHECK_POINT_DECIMALS = 6
#: Share of the class in each of the upper and lower groups of the discrimination index.
UPPER_LOWER_SHARE = 0.27

CSV_COLUMNS = (
    "student",
    "notebook",
    "item",
    "check",
    "weight",
    "max_points",
    "points",
    "passed",
    "kind",
    "mistake",
    "message",
)
REPORT_FILE = "report.html"
SCORE_FIGURE = "score_distribution.png"
CELL_FAILURE_FIGURE = "cell_failure_rates.png"
CELL_POINTS_FIGURE = "cell_mean_points.png"
DISCRIMINATION_FIGURE = "check_discrimination.png"


@dataclass(frozen=True)
class StudentResults:
    """One student's autograded notebooks of an assignment.

    Attributes:
        student: The student's nbgrader id.
        notebooks: The results stored in each autograded notebook, in notebook order.
    """

    student: str
    notebooks: tuple[NotebookResult, ...]

    @property
    def points(self) -> float:
        """Total autograded points."""
        return round(sum(notebook.points for notebook in self.notebooks), POINT_DECIMALS)

    @property
    def max_points(self) -> float:
        return sum(notebook.max_points for notebook in self.notebooks)


@dataclass(frozen=True)
class ClassResults:
    """The autograded results of every student of an assignment who has some.

    Attributes:
        assignment: The assignment's name.
        students: One entry per student, in the students' order.
    """

    assignment: str
    students: tuple[StudentResults, ...]


@dataclass(frozen=True)
class CheckRow:
    """One student's result of one check (a row of :func:`write_check_csv`).

    Attributes:
        student: The student's nbgrader id.
        notebook: The notebook's name.
        item: The grade cell (nbgrader ``grade_id``).
        check: The check's name.
        weight: The check's weight within its grade cell.
        max_points: Points the check is worth: ``item max points * weight / item total weight``.
        points: Points earned: ``max_points`` if passed, else 0 (also 0 in a cell that takes a
            forbidden shortcut).
        passed: Whether the check passed.
        kind: ``passed``, ``failed``, ``error``, ``missing``, ``timeout``, ``crash`` or
            ``forbidden``.
        mistake: The diagnosed mistake named in the message (empty when none is named).
        message: What the check said (what was expected; the student's feedback shows it too).
    """

    student: str
    notebook: str
    item: str
    check: str
    weight: float
    max_points: float
    points: float
    passed: bool
    kind: str
    mistake: str
    message: str = ""


@dataclass(frozen=True)
class ScoreSummary:
    """Mean, median, minimum and maximum of a set of scores (at least one)."""

    students: int
    mean: float
    median: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class CheckStats:
    """How the class did on one check.

    Attributes:
        notebook: The notebook's name.
        item: The grade cell.
        check: The check's name.
        max_points: Points the check is worth.
        students: Students with a result for the check.
        failed: How many of them failed it.
        failures: Failures by kind (``failed``, ``error``, ``timeout``, …).
        discrimination: Upper-lower 27 % discrimination index (see the module's docstring).
        point_biserial: Point-biserial correlation of passing with the total.
        mistakes: Diagnosed mistakes and how many students' results named them, most first.
    """

    notebook: str
    item: str
    check: str
    max_points: float
    students: int
    failed: int
    failures: dict[str, int]
    discrimination: float
    point_biserial: float
    mistakes: tuple[tuple[str, int], ...] = ()

    @property
    def failure_rate(self) -> float:
        return self.failed / self.students if self.students else 0.0


@dataclass(frozen=True)
class CellStats:
    """How the class did on one grade cell.

    Attributes:
        notebook: The notebook's name.
        item: The grade cell.
        max_points: Points the cell is worth.
        checks: Number of checks in the cell.
        students: Students with a result for the cell.
        mean_points: Mean points earned.
        failure_rate: Share of all the cell's check results (students x checks) that failed.
        full_marks: Students who earned every point.
        zero_points: Students who earned none.
    """

    notebook: str
    item: str
    max_points: float
    checks: int
    students: int
    mean_points: float
    failure_rate: float
    full_marks: int
    zero_points: int

    @property
    def mean_fraction(self) -> float:
        """Mean points as a share of the cell's points."""
        return self.mean_points / self.max_points if self.max_points else 0.0


@dataclass(frozen=True)
class MistakeStats:
    """A diagnosed mistake and where it occurs.

    Attributes:
        mistake: The diagnosis, as the checks name it.
        notebook: The notebook's name.
        item: The grade cell whose checks named it.
        students: How many students made it (in at least one of ``checks``).
        checks: The checks that named it, in the order they were first seen.
    """

    mistake: str
    notebook: str
    item: str
    students: int
    checks: tuple[str, ...]


@dataclass(frozen=True)
class Incident:
    """Student code that misbehaved: a timeout, crash, forbidden shortcut or loading problem.

    Attributes:
        student: The student's nbgrader id.
        notebook: The notebook's name.
        item: The grade cell (empty for what concerns the whole notebook).
        kind: A check kind (``timeout``, ``crash``, ``forbidden``), or ``incident`` (what the
            grading process recorded about the student's worker), ``load problem`` (the
            notebook's definitions could not all be loaded) or ``kernel`` (what went wrong
            while nbgrader's kernel executed the notebook).
        checks: Checks of the cell with that kind (0 for notebook-level entries).
        detail: The first such check's message, or the incident or problem itself.
    """

    student: str
    notebook: str
    item: str
    kind: str
    checks: int
    detail: str


@dataclass(frozen=True)
class ClassAnalysis:
    """Everything the report shows, computed from :class:`ClassResults`.

    Attributes:
        assignment: The assignment's name.
        max_points: The autograded points of the assignment (the largest total seen).
        totals: Each student's total autograded points.
        gradebook_totals: Each student's total in the gradebook (manual grades included), when
            given.
        autograded: Summary of ``totals`` (None without students).
        gradebook: Summary of ``gradebook_totals`` (None when not given or empty).
        checks: Every check, highest failure rate first (ties in notebook and cell order).
        cells: Every grade cell, in notebook and cell order.
        mistakes: Diagnosed mistakes per cell, most students first.
        incidents: Timeouts, crashes, forbidden shortcuts, incidents and loading problems, by
            student.
    """

    assignment: str
    max_points: float
    totals: dict[str, float]
    gradebook_totals: dict[str, float]
    autograded: ScoreSummary | None
    gradebook: ScoreSummary | None
    checks: tuple[CheckStats, ...]
    cells: tuple[CellStats, ...]
    mistakes: tuple[MistakeStats, ...]
    incidents: tuple[Incident, ...]


def collect_results(*, course: Course, assignment: str) -> ClassResults:
    """The results stored in every autograded notebook of an assignment.

    Reads ``autograded/<student>/<assignment>/*.ipynb`` (nbgrader's paths for the course).
    Notebooks without the kit's results are skipped; students without any are left out.
    """
    autograded = course.root / course.coursedir.autograded_directory
    folders = sorted(p.name for p in autograded.glob("*") if p.is_dir())
    students = []
    for student in folders:
        folder = course.path("autograded", assignment=assignment, student=student)
        notebooks = tuple(
            result
            for path in sorted(folder.glob("*.ipynb"))
            if (result := read_results(nbformat.read(path, as_version=4))) is not None
        )
        if notebooks:
            students.append(StudentResults(student=student, notebooks=notebooks))
    return ClassResults(assignment=assignment, students=tuple(students))


def gradebook_totals(*, course: Course, assignment: str) -> dict[str, float]:
    """Each student's total for the assignment in nbgrader's gradebook (manual grades
    included where given)."""
    return {row.student: row.score for row in scores(course=course, assignment=assignment)}


def check_points(item: ItemResult) -> list[float]:
    """Points each of the item's checks is worth: ``max points * weight / total weight``."""
    total = item.total_weight
    return [item.max_points * check.weight / total if total else 0.0 for check in item.checks]


def check_rows(*, results: ClassResults) -> list[CheckRow]:
    """One row per (student, check), in student, notebook, cell and check order."""
    rows = []
    for student in results.students:
        for notebook in student.notebooks:
            for item in notebook.items.values():
                forbidden = item.forbidden
                for check, worth in zip(item.checks, check_points(item), strict=True):
                    earned = worth if check.passed and not forbidden else 0.0
                    rows.append(
                        CheckRow(
                            student=student.student,
                            notebook=notebook.notebook,
                            item=item.item,
                            check=check.name,
                            weight=check.weight,
                            max_points=round(worth, CHECK_POINT_DECIMALS),
                            points=round(earned, CHECK_POINT_DECIMALS),
                            passed=check.passed,
                            kind=check.kind,
                            mistake=check.mistake,
                            message=check.message,
                        )
                    )
    return rows


def write_check_csv(*, results: ClassResults, path: Path) -> Path:
    """Write :func:`check_rows` as CSV (columns :data:`CSV_COLUMNS`; ``passed`` is
    ``true``/``false``).

    Returns:
        The path written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for row in check_rows(results=results):
            writer.writerow(
                [
                    row.student,
                    row.notebook,
                    row.item,
                    row.check,
                    f"{row.weight:g}",
                    f"{row.max_points:g}",
                    f"{row.points:g}",
                    "true" if row.passed else "false",
                    row.kind,
                    row.mistake,
                    row.message,
                ]
            )
    return path


def discrimination_index(*, passed: Sequence[bool], totals: Sequence[float]) -> float:
    """Upper-lower 27 % discrimination index: share of the top group by total that passed
    minus share of the bottom group that passed (0 with fewer than two students)."""
    count = len(totals)
    if count < 2:
        return 0.0
    group = min(max(1, round(UPPER_LOWER_SHARE * count)), count // 2)
    outcomes = np.asarray(passed, dtype=float)
    scores_ = np.asarray(totals, dtype=float)
    return _top_pass_rate(outcomes, scores_, group) - _top_pass_rate(outcomes, -scores_, group)


def _top_pass_rate(outcomes: np.ndarray, totals: np.ndarray, group: int) -> float:
    """Share of the ``group`` students with the highest totals who passed. Students tied with
    the group's last one share its remaining places equally, so the order of students never
    matters."""
    edge = np.sort(totals)[::-1][group - 1]
    above = totals > edge
    tied = totals == edge
    places = group - int(above.sum())
    return float((outcomes[above].sum() + places * outcomes[tied].mean()) / group)


def point_biserial(*, passed: Sequence[bool], totals: Sequence[float]) -> float:
    """Pearson correlation between passing (1/0) and the total; 0 when either is constant."""
    outcomes = np.asarray(passed, dtype=float)
    scores_ = np.asarray(totals, dtype=float)
    if len(outcomes) < 2 or np.ptp(outcomes) == 0 or np.ptp(scores_) == 0:
        return 0.0
    outcomes = outcomes - outcomes.mean()
    scores_ = scores_ - scores_.mean()
    r = float((outcomes * scores_).sum() / math.sqrt((outcomes**2).sum() * (scores_**2).sum()))
    return max(-1.0, min(1.0, r))


def summarize(values: Iterable[float]) -> ScoreSummary | None:
    """Mean, median, minimum and maximum (None for no values)."""
    values = list(values)
    if not values:
        return None
    return ScoreSummary(
        students=len(values),
        mean=statistics.fmean(values),
        median=statistics.median(values),
        minimum=min(values),
        maximum=max(values),
    )


@dataclass
class _CheckTally:
    """What one check's results add up to, while reading the class."""

    max_points: float
    outcomes: list[tuple[str, bool]] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    mistakes: Counter[str] = field(default_factory=Counter)


@dataclass
class _CellTally:
    max_points: float
    checks: set[str] = field(default_factory=set)
    points: list[float] = field(default_factory=list)
    results: int = 0
    failed: int = 0


def analyse_results(
    *, results: ClassResults, gradebook_totals: Mapping[str, float] | None = None
) -> ClassAnalysis:
    """Failure rates, discrimination, cell means, mistakes and incidents of a class.

    Args:
        results: The class's autograded results.
        gradebook_totals: Each student's total in the gradebook (manual grades included), if
            the summary should show it.
    """
    totals = {student.student: student.points for student in results.students}
    checks: dict[tuple[str, str, str], _CheckTally] = {}
    cells: dict[tuple[str, str], _CellTally] = {}
    mistake_students: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    mistake_checks: dict[tuple[str, str, str], dict[str, None]] = defaultdict(dict)
    incidents = []
    for student in results.students:
        name = student.student
        for notebook in student.notebooks:
            incidents += _incidents(name, notebook)
            for item in notebook.items.values():
                cell = cells.setdefault(
                    (notebook.notebook, item.item), _CellTally(max_points=item.max_points)
                )
                cell.points.append(item.points)
                for check, worth in zip(item.checks, check_points(item), strict=True):
                    key = (notebook.notebook, item.item, check.name)
                    tally = checks.setdefault(key, _CheckTally(max_points=worth))
                    tally.outcomes.append((name, check.passed))
                    cell.checks.add(check.name)
                    cell.results += 1
                    if check.passed:
                        continue
                    cell.failed += 1
                    tally.failures[check.kind] += 1
                    if mistake := check.mistake:
                        tally.mistakes[mistake] += 1
                        mistake_students[(notebook.notebook, item.item, mistake)].add(name)
                        mistake_checks[(notebook.notebook, item.item, mistake)][check.name] = None
    notebook_order = {nb: i for i, nb in enumerate(sorted({key[0] for key in cells}))}
    check_order = sorted(checks, key=lambda key: notebook_order[key[0]])
    check_stats = [_check_stats(key, checks[key], totals) for key in check_order]
    given = dict(gradebook_totals or {})
    return ClassAnalysis(
        assignment=results.assignment,
        max_points=max((student.max_points for student in results.students), default=0.0),
        totals=totals,
        gradebook_totals=given,
        autograded=summarize(totals.values()),
        gradebook=summarize(given.values()),
        checks=tuple(sorted(check_stats, key=lambda stats: -stats.failure_rate)),
        cells=tuple(
            _cell_stats(key, cells[key])
            for key in sorted(cells, key=lambda key: notebook_order[key[0]])
        ),
        mistakes=tuple(
            sorted(
                (
                    MistakeStats(
                        mistake=key[2],
                        notebook=key[0],
                        item=key[1],
                        students=len(names),
                        checks=tuple(mistake_checks[key]),
                    )
                    for key, names in mistake_students.items()
                ),
                key=lambda stats: -stats.students,
            )
        ),
        incidents=tuple(incidents),
    )


def _incidents(student: str, notebook: NotebookResult) -> list[Incident]:
    """The notebook's loading problems and incidents, then each cell's checks of each of
    :data:`INCIDENT_KINDS`."""
    found = [
        Incident(student, notebook.notebook, item="", kind=kind, checks=0, detail=detail)
        for kind, details in (
            ("load problem", notebook.load_problems),
            ("incident", notebook.incidents),
            ("kernel", notebook.execution_problems),
        )
        for detail in details
    ]
    for item in notebook.items.values():
        for kind in INCIDENT_KINDS:
            hits = [check for check in item.checks if check.kind == kind]
            if hits:
                found.append(
                    Incident(
                        student,
                        notebook.notebook,
                        item=item.item,
                        kind=kind,
                        checks=len(hits),
                        detail=hits[0].message,
                    )
                )
    return found


def _check_stats(
    key: tuple[str, str, str], tally: _CheckTally, totals: Mapping[str, float]
) -> CheckStats:
    passed = [outcome for _, outcome in tally.outcomes]
    student_totals = [totals[student] for student, _ in tally.outcomes]
    return CheckStats(
        notebook=key[0],
        item=key[1],
        check=key[2],
        max_points=tally.max_points,
        students=len(passed),
        failed=passed.count(False),
        failures=dict(tally.failures),
        discrimination=discrimination_index(passed=passed, totals=student_totals),
        point_biserial=point_biserial(passed=passed, totals=student_totals),
        mistakes=tuple(tally.mistakes.most_common()),
    )


def _cell_stats(key: tuple[str, str], tally: _CellTally) -> CellStats:
    return CellStats(
        notebook=key[0],
        item=key[1],
        max_points=tally.max_points,
        checks=len(tally.checks),
        students=len(tally.points),
        mean_points=statistics.fmean(tally.points),
        failure_rate=tally.failed / tally.results if tally.results else 0.0,
        full_marks=sum(math.isclose(points, tally.max_points) for points in tally.points),
        zero_points=sum(points == 0 for points in tally.points),
    )


def write_report(
    *,
    results: ClassResults,
    folder: Path,
    gradebook_totals: Mapping[str, float] | None = None,
    not_graded: Mapping[str, str] | None = None,
    late: Mapping[str, tuple[str, float]] | None = None,
    isolation: str = "",
) -> Path:
    """Write the class report: ``report.html`` and its PNG figures, in ``folder``.

    Args:
        results: The class's autograded results (:func:`collect_results`).
        folder: Where to write (created if missing; files of an earlier report are replaced).
        gradebook_totals: Each student's gradebook total, manual grades included
            (:func:`gradebook_totals`), to summarize beside the autograded points.
        not_graded: Students the batch could not grade at all, with the reason.
        late: Late students: how late (``10 h late``) and the points the late policy took.
        isolation: How the last batch confined student code (``bubblewrap`` or ``rlimits``).

    Returns:
        The HTML file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    analysis = analyse_results(results=results, gradebook_totals=gradebook_totals)
    _plot_scores(analysis, folder / SCORE_FIGURE)
    _plot_cells(
        analysis,
        folder / CELL_FAILURE_FIGURE,
        values=[cell.failure_rate for cell in analysis.cells],
        label="share of the cell's check results that failed",
    )
    _plot_cells(
        analysis,
        folder / CELL_POINTS_FIGURE,
        values=[cell.mean_fraction for cell in analysis.cells],
        label="mean points, as a share of the cell's points",
    )
    _plot_discrimination(analysis, folder / DISCRIMINATION_FIGURE)
    page = _TEMPLATE.render(
        analysis=analysis,
        students=len(results.students),
        not_graded=dict(not_graded or {}),
        late=dict(late or {}),
        isolation=isolation,
        figures={
            "scores": SCORE_FIGURE,
            "cell_failures": CELL_FAILURE_FIGURE,
            "cell_points": CELL_POINTS_FIGURE,
            "discrimination": DISCRIMINATION_FIGURE,
        },
        share=UPPER_LOWER_SHARE,
    )
    path = folder / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path


def _figure(*, width: float, height: float) -> Figure:
    """A figure drawn by the Agg backend (no pyplot, so no global backend state)."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _notebook_colours(analysis: ClassAnalysis) -> dict[str, str]:
    palette = matplotlib.colormaps["tab10"]
    notebooks = dict.fromkeys(cell.notebook for cell in analysis.cells)
    return {notebook: to_hex(palette(i % 10)) for i, notebook in enumerate(notebooks)}


def _plot_scores(analysis: ClassAnalysis, path: Path) -> None:
    figure = _figure(width=8, height=3.6)
    axes = figure.add_subplot()
    upper = max(
        [analysis.max_points, *analysis.totals.values(), *analysis.gradebook_totals.values()],
        default=0.0,
    )
    bins = np.linspace(0.0, upper or 1.0, 21).tolist()
    axes.hist(
        list(analysis.totals.values()),
        bins=bins,
        color="tab:blue",
        edgecolor="white",
        label="autograded points",
    )
    if analysis.gradebook_totals:
        axes.hist(
            list(analysis.gradebook_totals.values()),
            bins=bins,
            histtype="step",
            linewidth=2,
            color="tab:orange",
            label="gradebook total (manual grades included)",
        )
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("points")
    axes.set_ylabel("students")
    axes.set_title("Score distribution")
    figure.legend(loc="outside lower center", ncols=2, fontsize=8)
    figure.savefig(path, dpi=100)


def _plot_cells(analysis: ClassAnalysis, path: Path, *, values: list[float], label: str) -> None:
    """One horizontal bar per grade cell (in notebook order, top to bottom), coloured by
    notebook."""
    cells = analysis.cells
    colours = _notebook_colours(analysis)
    figure = _figure(width=8, height=1.2 + 0.3 * max(len(cells), 1))
    axes = figure.add_subplot()
    positions = list(range(len(cells)))
    axes.barh(
        positions,
        [100 * value for value in values],
        color=[colours[cell.notebook] for cell in cells],
    )
    for position, value in zip(positions, values, strict=True):
        axes.text(100 * value + 1, position, f"{100 * value:.0f} %", va="center", fontsize=8)
    axes.set_yticks(positions, [cell.item for cell in cells], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 110)
    axes.set_xlabel(f"{label} (%)")
    handles = [Patch(color=colour, label=notebook) for notebook, colour in colours.items()]
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8)
    figure.savefig(path, dpi=100)


def _plot_discrimination(analysis: ClassAnalysis, path: Path) -> None:
    """Failure rate against discrimination index, one dot per check (checks at the same place
    make one larger dot)."""
    colours = _notebook_colours(analysis)
    figure = _figure(width=8, height=4.8)
    axes = figure.add_subplot()
    for notebook, colour in colours.items():
        places = Counter(
            (100 * stats.failure_rate, stats.discrimination)
            for stats in analysis.checks
            if stats.notebook == notebook
        )
        axes.scatter(
            [rate for rate, _ in places],
            [index for _, index in places],
            s=[15 * math.sqrt(count) for count in places.values()],
            alpha=0.5,
            color=colour,
            label=notebook,
        )
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set_xlim(-5, 105)
    axes.set_ylim(-1.15, 1.15)
    axes.set_xlabel("failure rate (%)")
    axes.set_ylabel(f"discrimination index (upper - lower {UPPER_LOWER_SHARE:.0%})")
    axes.set_title("Each dot is a check (larger: several checks at the same place)")
    if colours:
        figure.legend(loc="outside lower center", ncols=3, fontsize=8, markerscale=0.5)
    figure.savefig(path, dpi=100)


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _points(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value else "0"


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ENVIRONMENT = jinja2.Environment(
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
)
_ENVIRONMENT.filters.update(percent=_percent, points=_points, shorten=_shorten)
_TEMPLATE = _ENVIRONMENT.from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Autograding report: {{ analysis.assignment }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left;
         vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 0; }
table.sortable th { cursor: pointer; }
table.sortable th:hover { background: #e4e4e4; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.check { font-family: ui-monospace, monospace; font-size: 0.95em; overflow-wrap: anywhere;
           min-width: 14em; }
td.text { min-width: 14em; }
.negative { color: #b00; font-weight: bold; }
.note { color: #555; max-width: 60em; }
img { max-width: 100%; }
pre { white-space: pre-wrap; margin: 0; }
</style>
</head>
<body>
<h1>Autograding report: {{ analysis.assignment }}</h1>

<h2>Class</h2>
<p>{{ students }} student{{ "" if students == 1 else "s" }} with autograded notebooks,
{{ analysis.cells | length }} grade cells, {{ analysis.checks | length }} checks,
{{ analysis.max_points | points }} autograded points.
{% if not_graded %}{{ not_graded | length }} more could not be graded at all
(<a href="#not-graded">below</a>).{% endif %}
{% if isolation %}The last batch ran student code under {{ isolation }}.{% endif %}</p>
<table>
<tr><th></th><th>students</th><th>mean</th><th>median</th><th>min</th><th>max</th></tr>
{% for label, summary in [("autograded points (of " ~ (analysis.max_points | points) ~ ")",
                            analysis.autograded),
                           ("gradebook total (manual grades included where given)",
                            analysis.gradebook)] if summary %}
<tr><td>{{ label }}</td><td class="number">{{ summary.students }}</td>
<td class="number">{{ summary.mean | points }}</td>
<td class="number">{{ summary.median | points }}</td>
<td class="number">{{ summary.minimum | points }}</td>
<td class="number">{{ summary.maximum | points }}</td></tr>
{% endfor %}
</table>
<img src="{{ figures.scores }}" alt="Histogram of the students' total points">

<h2>Grade cells</h2>
<p class="note">Failure rate: the share of the cell's check results (all students' results of
all its checks) that failed. Mean points: averaged over the students with a result for the cell.</p>
<img src="{{ figures.cell_failures }}" alt="Failure rate of the checks of each grade cell">
<img src="{{ figures.cell_points }}" alt="Mean points of each grade cell">
<table class="sortable">
<thead><tr><th>notebook</th><th>cell</th><th>points</th><th>checks</th><th>students</th>
<th>mean points</th><th>mean share</th><th>check failure rate</th><th>full marks</th>
<th>no points</th></tr></thead>
<tbody>
{% for cell in analysis.cells %}
<tr><td>{{ cell.notebook }}</td><td>{{ cell.item }}</td>
<td class="number">{{ cell.max_points | points }}</td>
<td class="number">{{ cell.checks }}</td><td class="number">{{ cell.students }}</td>
<td class="number">{{ cell.mean_points | points }}</td>
<td class="number">{{ cell.mean_fraction | percent }}</td>
<td class="number">{{ cell.failure_rate | percent }}</td>
<td class="number">{{ cell.full_marks }}</td><td class="number">{{ cell.zero_points }}</td></tr>
{% endfor %}
</tbody>
</table>

<h2>Checks</h2>
<p class="note">Every check, highest failure rate first (click a column to sort).
<b>D</b> is the upper-lower discrimination index: the share of the best
{{ "%.0f" | format(100 * share) }} % of students (by total autograded points) who passed the
check minus the share of the weakest {{ "%.0f" | format(100 * share) }} % who did.
<b>r<sub>pb</sub></b> is the point-biserial correlation between passing the check and the total.
Both are 0 for a check everyone (or no one) passes. A check that weak students fail and strong
ones pass has D &gt; 0 (it measures what the total measures); D &lt; 0 (in red) means strong
students fail it more often than weak ones: look at the check or the task.</p>
<img src="{{ figures.discrimination }}" alt="Failure rate against discrimination of every check">
<table class="sortable">
<thead><tr><th>#</th><th>notebook</th><th>cell</th><th>check</th><th>points</th>
<th>students</th><th>failed</th><th>failure rate</th><th>failures by kind</th><th>D</th>
<th>r<sub>pb</sub></th><th>most common diagnosed mistake</th></tr></thead>
<tbody>
{% for check in analysis.checks %}
<tr><td class="number">{{ loop.index }}</td><td>{{ check.notebook }}</td>
<td>{{ check.item }}</td><td class="check">{{ check.check }}</td>
<td class="number">{{ "%.3f" | format(check.max_points) }}</td>
<td class="number">{{ check.students }}</td><td class="number">{{ check.failed }}</td>
<td class="number">{{ check.failure_rate | percent }}</td>
<td>{% for kind, count in check.failures | dictsort -%}
{{ kind }} {{ count }}{{ ", " if not loop.last }}
{%- endfor %}</td>
{% for value in (check.discrimination, check.point_biserial) %}
<td class="number{{ ' negative' if value < 0 }}">{{ "%.2f" | format(value) }}</td>
{% endfor %}
<td class="text">{% if check.mistakes -%}
{{ check.mistakes[0][0] }} ({{ check.mistakes[0][1] }} student
{{- "" if check.mistakes[0][1] == 1 else "s" }})
{%- endif %}</td></tr>
{% endfor %}
</tbody>
</table>

<h2>Most common diagnosed mistakes</h2>
{% if analysis.mistakes %}
<p class="note">Mistakes the checks recognised ("Likely mistake: …" in the feedback), per grade
cell, with the number of students who made them.</p>
<table class="sortable">
<thead><tr><th>students</th><th>mistake</th><th>notebook</th><th>cell</th><th>checks</th></tr>
</thead>
<tbody>
{% for mistake in analysis.mistakes %}
<tr><td class="number">{{ mistake.students }}</td><td class="text">{{ mistake.mistake }}</td>
<td>{{ mistake.notebook }}</td><td>{{ mistake.item }}</td>
<td class="check">{{ mistake.checks[:5] | join(", ") }}
{%- if mistake.checks | length > 5 %} and {{ mistake.checks | length - 5 }} more{% endif %}</td>
</tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p>No check named a likely mistake.</p>
{% endif %}

<h2>Timeouts, crashes, forbidden shortcuts and loading problems</h2>
{% if analysis.incidents %}
<p class="note">Checks whose call into the student's code timed out or crashed the student's
process, cells that take a forbidden shortcut (no points for the cell), checks that failed
because a statement of the notebook was skipped, failed or ran too long when the definitions
were loaded for grading (kind <em>load</em>), and what the grading recorded about the whole
notebook (incidents of the student's process, definitions that could not be loaded).</p>
<table class="sortable">
<thead><tr><th>student</th><th>notebook</th><th>cell</th><th>kind</th><th>checks</th>
<th>detail</th></tr></thead>
<tbody>
{% for incident in analysis.incidents %}
<tr><td>{{ incident.student }}</td><td>{{ incident.notebook }}</td>
<td>{{ incident.item or "(whole notebook)" }}</td><td>{{ incident.kind }}</td>
<td class="number">{{ incident.checks or "" }}</td>
<td class="text"><pre>{{ incident.detail | shorten }}</pre></td></tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p>None.</p>
{% endif %}

{% if late %}
<h2 id="late">Late submissions</h2>
<p class="note">Lateness counts from each student's due date (extensions included); the gradebook
totals above are before the penalty.</p>
<table class="sortable">
<thead><tr><th>student</th><th>lateness</th><th>late penalty</th></tr></thead>
<tbody>
{% for student, (lateness, penalty) in late | dictsort %}
<tr><td>{{ student }}</td><td>{{ lateness }}</td>
<td class="number">-{{ penalty | points }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}

{% if not_graded %}
<h2 id="not-graded">Not graded</h2>
<p class="note">The batch could not grade these submissions at all: they are not counted
above.</p>
<table>
<thead><tr><th>student</th><th>reason</th></tr></thead>
<tbody>
{% for student, reason in not_graded | dictsort %}
<tr><td>{{ student }}</td><td><pre>{{ reason | shorten(1000) }}</pre></td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}

<script>
document.querySelectorAll("table.sortable th").forEach((header) => {
  header.addEventListener("click", () => {
    const body = header.closest("table").tBodies[0];
    const column = header.cellIndex;
    const ascending = header.dataset.order !== "ascending";
    header.dataset.order = ascending ? "ascending" : "descending";
    const key = (row) => {
      const text = row.cells[column].textContent.trim();
      const number = parseFloat(text);
      return Number.isNaN(number) ? text : number;
    };
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b);
      const order = typeof x === "number" && typeof y === "number"
        ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    rows.forEach((row) => body.appendChild(row));
  });
});
</script>
</body>
</html>
"""
)
