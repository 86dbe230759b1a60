"""The assignment's rules against shortcuts: what each item may not use (the one place they live).

From-scratch items are written with NumPy: computing one with torch (autograd included),
scikit-learn, the reference implementation or the graders, or reaching code, files or names
dynamically, earns the cell no credit. The PyTorch items may use torch, but not the reference
or the graders, nor load code, files or names dynamically (looking a layer up by name,
``getattr(nn, name)``, is allowed there). The engine's :mod:`gradekit.core.shortcuts` finds the uses
in the source; ``test_integrity.py`` turns them into one check per grade cell.
"""

from __future__ import annotations

from gradekit.core import escapes
from gradekit.core.shortcuts import Rule, Rules

#: Grade cells whose item is meant to use PyTorch; every other item is written from scratch.
TORCH_ITEMS = (
    "pytorch_mlp",
    "pytorch_training",
    "pytorch_validation",
    "pytorch_multiclass",
    "pytorch_multiclass_training",
)
#: Grade cells of plain numbers worked out by hand: nothing to compute, nothing to scan.
SOURCE_ITEMS = ("by_hand",)

NUMPY_ONLY = "from-scratch items are written with NumPy (no torch, no scikit-learn)"
NO_REFERENCE = "no item may use the reference implementation or the graders"
NO_DYNAMIC = "items may not load code, files or names dynamically"

_NOT_THE_REFERENCE = tuple(
    Rule(package, NO_REFERENCE) for package in ("reference_impl", "grader_tests")
)

FROM_SCRATCH = Rules(
    modules=(Rule("torch", NUMPY_ONLY), Rule("sklearn", NUMPY_ONLY), *_NOT_THE_REFERENCE),
    strings=_NOT_THE_REFERENCE,
    escapes=escapes.ALL_KINDS,
    escape_sentence=NO_DYNAMIC,
)
WITH_TORCH = Rules(
    modules=_NOT_THE_REFERENCE,
    strings=_NOT_THE_REFERENCE,
    escapes=escapes.ALL_KINDS - {escapes.LOOKUP},
    escape_sentence=NO_DYNAMIC,
)


def rules_for(grade_id: str) -> Rules:
    """What the item of a grade cell may not use."""
    return WITH_TORCH if grade_id in TORCH_ITEMS else FROM_SCRATCH
