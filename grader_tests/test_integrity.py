"""One check per grade cell: the item is written without forbidden shortcuts.

From-scratch items may not use torch, scikit-learn, the reference implementation or the graders;
the PyTorch items may use torch but not the reference or the graders. A shortcut costs the whole
cell (the check fails with kind ``forbidden``); the check weighs nothing otherwise, so honest
submissions' points do not change.
"""

from __future__ import annotations

import pytest

from gradekit.remote import Forbidden
from grader_tests.conftest import GRADED_NAMES, TORCH_ITEMS, USES_REFERENCE
from grader_tests.integrity import ALWAYS_FORBIDDEN, FROM_SCRATCH_FORBIDDEN, shortcuts

SOURCE_ITEMS = ("by_hand",)  # plain numbers, nothing to compute


@pytest.mark.weight(0)
@pytest.mark.parametrize(
    "item",
    [
        pytest.param(item, marks=getattr(pytest.mark, item), id=item)
        for item in GRADED_NAMES
        if item not in SOURCE_ITEMS
    ],
)
def test_written_without_forbidden_shortcuts(graded_notebook, item):
    modules = ALWAYS_FORBIDDEN if item in TORCH_ITEMS else FROM_SCRATCH_FORBIDDEN
    found = shortcuts(graded_notebook, GRADED_NAMES[item], modules, USES_REFERENCE.get(item, ()))
    if found:
        rule = (
            "may not use the reference or the graders"
            if item in TORCH_ITEMS
            else "must be written with NumPy"
        )
        shown = "; ".join(str(shortcut) for shortcut in found[:3])
        raise Forbidden(f"{', '.join(GRADED_NAMES[item])} {rule}: {shown}")
