"""The PNG figures of a class report, drawn by matplotlib's Agg backend (no pyplot state)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from gradekit.term.report.analysis import ClassAnalysis
from gradekit.term.report.stats import UPPER_LOWER_SHARE

SCORE_FIGURE = "score_distribution.png"
CELL_FAILURE_FIGURE = "cell_failure_rates.png"
CELL_POINTS_FIGURE = "cell_mean_points.png"
DISCRIMINATION_FIGURE = "check_discrimination.png"


def write_figures(*, analysis: ClassAnalysis, folder: Path) -> dict[str, str]:
    """Draw the report's four figures into ``folder`` (which must exist).

    Returns:
        Each figure's file name (relative to ``folder``) by its role: ``scores``,
        ``cell_failures``, ``cell_points`` and ``discrimination``.
    """
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
    return {
        "scores": SCORE_FIGURE,
        "cell_failures": CELL_FAILURE_FIGURE,
        "cell_points": CELL_POINTS_FIGURE,
        "discrimination": DISCRIMINATION_FIGURE,
    }


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
