"""Class-scale reports of autograding: which checks, grade cells and mistakes a class got wrong.

nbgrader exports totals only. The kit stores every check's result in each autograded notebook;
this package reads them for a whole class and writes

- :func:`write_check_csv`: one row per (student, check), for a spreadsheet or a data frame;
- :func:`write_report`: one HTML page, with PNG figures beside it, that says where the class
  lost points: a score summary and distribution, the failure rate and discrimination of every
  check, the mean points of every grade cell, the most common diagnosed mistakes, and the
  students whose code timed out, crashed or took a forbidden shortcut.

One concept per module, each using only those above it:

- :mod:`.results`: a class's results (dataclasses), read from the autograded notebooks;
- :mod:`.checks_csv`: the per-check rows and their CSV;
- :mod:`.stats`: score summaries, the discrimination index and the point-biserial correlation;
- :mod:`.incidents`: student code that timed out, crashed, took a shortcut or did not load;
- :mod:`.analysis`: everything the report shows, per check, grade cell and mistake;
- :mod:`.figures`: the PNG figures (matplotlib);
- :mod:`.html`: the page, rendered by Jinja from ``templates/`` (``report.html.j2``, with
  ``report.css`` and ``report.js``).
"""

from gradekit.term.report.analysis import ClassAnalysis, analyse_results
from gradekit.term.report.checks_csv import write_check_csv
from gradekit.term.report.html import write_report
from gradekit.term.report.results import (
    ClassResults,
    StudentResults,
    collect_results,
    gradebook_totals,
)

__all__ = [
    "ClassAnalysis",
    "ClassResults",
    "StudentResults",
    "analyse_results",
    "collect_results",
    "gradebook_totals",
    "write_check_csv",
    "write_report",
]
