"""The course's rules against shortcuts (``grader_tests/integrity.py``) on its own submissions.

Source only (nothing is run, so these are fast): every forbidden variant of the bank is flagged
in exactly its cells, and nothing the course ships or accepts as honest is flagged anywhere —
the instructor's solutions, the bundled samples, every bug and every alternative solution of
the bank. ``tests/course/test_banks.py`` grades the same variants end to end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gradekit.core.notebook import Notebook, as_nbformat, notebook_from_dict, read_notebook
from gradekit.core.shortcuts import describe, read_definitions
from grader_tests.conftest import GRADED_NAMES, USES_REFERENCE
from grader_tests.integrity import SOURCE_ITEMS, rules_for
from synthetic.banks import ALTERNATIVES, BUGS, FORBIDDEN, NB1, NB2, NB3, Variant, student_notebook

SUBMITTED = Path(__file__).resolve().parents[2] / "submitted"


def flagged(notebook: Notebook) -> dict[str, str]:
    """The grade cells whose item takes a shortcut, with the message, as the check sees them."""
    needed = dict.fromkeys(
        name for grade_id in notebook.autograded_ids for name in GRADED_NAMES.get(grade_id, ())
    )
    definitions = read_definitions(notebook, tuple(needed))
    found = {
        grade_id: definitions.shortcuts(
            GRADED_NAMES[grade_id], rules_for(grade_id), USES_REFERENCE.get(grade_id, ())
        )
        for grade_id in notebook.autograded_ids
        if grade_id in GRADED_NAMES and grade_id not in SOURCE_ITEMS
    }
    return {grade_id: describe(shortcuts) for grade_id, shortcuts in found.items() if shortcuts}


def submission(variant: Variant | None, name: str = "") -> Notebook:
    node = student_notebook(variant, name or None)
    return notebook_from_dict(as_nbformat(node), name=variant.notebook if variant else name)


@pytest.mark.parametrize(("variant", "cells"), [pytest.param(v, c, id=v.id) for v, c in FORBIDDEN])
def test_forbidden_variant_is_flagged_in_exactly_its_cells(variant, cells):
    found = flagged(submission(variant))
    assert set(found) == set(cells), found


@pytest.mark.parametrize("variant", BUGS + ALTERNATIVES, ids=lambda variant: variant.id)
def test_bank_variant_without_shortcuts_is_not_flagged(variant):
    assert flagged(submission(variant)) == {}


@pytest.mark.parametrize("name", [NB1, NB2, NB3])
def test_instructor_solution_is_not_flagged(name):
    assert flagged(submission(None, name)) == {}


@pytest.mark.parametrize(
    "path",
    sorted(SUBMITTED.glob("*/*/*.ipynb")),
    ids=lambda path: f"{path.parts[-3]}-{path.stem[:2]}",
)
def test_bundled_sample_is_not_flagged(path):
    assert flagged(read_notebook(path)) == {}
