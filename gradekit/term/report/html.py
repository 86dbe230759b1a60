"""The class report's HTML page, rendered by Jinja from the template files in ``templates/``.

``report.html.j2`` is the page; it includes ``report.css`` (its style) and ``report.js`` (sorting
a table by the column clicked). Everything the page shows is escaped (autoescape): student ids,
check messages and diagnosed mistakes are text the student's code controls.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import jinja2

from gradekit.term.report.analysis import analyse_results
from gradekit.term.report.figures import write_figures
from gradekit.term.report.results import ClassResults
from gradekit.term.report.stats import UPPER_LOWER_SHARE

REPORT_FILE = "report.html"
#: The page's template, in this package's ``templates`` folder (package data).
TEMPLATE = "report.html.j2"


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
        results: The class's autograded results
            (:func:`~gradekit.term.report.results.collect_results`).
        folder: Where to write (created if missing; files of an earlier report are replaced).
        gradebook_totals: Each student's gradebook total, manual grades included
            (:func:`~gradekit.term.report.results.gradebook_totals`), to summarize beside the
            autograded points.
        not_graded: Students the batch could not grade at all, with the reason.
        late: Late students: how late (``10 h late``) and the points the late policy took.
        isolation: How the last batch confined student code (``bubblewrap`` or ``rlimits``).

    Returns:
        The HTML file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    analysis = analyse_results(results=results, gradebook_totals=gradebook_totals)
    figures = write_figures(analysis=analysis, folder=folder)
    template = _environment().get_template(TEMPLATE)
    page = template.render(
        analysis=analysis,
        students=len(results.students),
        not_graded=dict(not_graded or {}),
        late=dict(late or {}),
        isolation=isolation,
        figures=figures,
        share=UPPER_LOWER_SHARE,
    )
    path = folder / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path


def _environment() -> jinja2.Environment:
    """The report's Jinja environment: templates of this package, every value escaped, an
    undefined name an error, and the filters ``percent``, ``points`` and ``shorten``."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__ or "gradekit.term.report"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(percent=_percent, points=_points, shorten=_shorten)
    return environment


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _points(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value else "0"


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
