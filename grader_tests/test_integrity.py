"""One check per grade cell: the item is written without forbidden shortcuts.

The rules are declared in ``integrity.py``; the engine (:mod:`gradekit.core.shortcuts`) follows each
cell's graded names through the submission's definitions. A shortcut costs the whole cell (the
check fails with kind ``forbidden``, its message names each use, where it is and the rule it
breaks); the check weighs nothing otherwise, so honest submissions' points do not change.
"""

from __future__ import annotations

import pytest

from gradekit.core.notebook import Notebook
from gradekit.core.shortcuts import Definitions, describe, read_definitions
from gradekit.sandbox.problems import Forbidden
from grader_tests.conftest import GRADED_NAMES, USES_REFERENCE
from grader_tests.integrity import SOURCE_ITEMS, rules_for


@pytest.fixture(scope="session")
def definitions(graded_notebook: Notebook, notebook_grade_ids: list[str]) -> Definitions:
    """The submission's definitions as the worker runs them, analysed once per notebook."""
    needed = dict.fromkeys(
        name for grade_id in notebook_grade_ids for name in GRADED_NAMES.get(grade_id, ())
    )
    return read_definitions(graded_notebook, tuple(needed))


@pytest.mark.weight(0)
@pytest.mark.parametrize(
    "item",
    [
        pytest.param(item, marks=pytest.mark.grade_cell(item), id=item)
        for item in GRADED_NAMES
        if item not in SOURCE_ITEMS
    ],
)
def test_written_without_forbidden_shortcuts(definitions: Definitions, item: str) -> None:
    found = definitions.shortcuts(GRADED_NAMES[item], rules_for(item), USES_REFERENCE.get(item, ()))
    if found:
        raise Forbidden(describe(found))
