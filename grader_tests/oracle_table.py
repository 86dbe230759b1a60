"""The shape of the oracle table of :mod:`grader_tests.test_oracles`.

Many items are checked the same way against up to three oracles: draw hidden inputs, call the
student's function, compute the expected answer with the oracle, compare them within a tolerance
and say which oracle disagreed. A :class:`Row` declares one item: its grade cell, how to draw its
inputs and call the student's code, how to compare, and for each oracle (:class:`Oracle`) how it
computes the expected answer, how the messages name it, on which cases it runs and with which
tolerances. :func:`params` turns the rows into the parameters of the one test per oracle kind,
each marked with its row's grade cell.

``grader_tests.inventory`` reads the rows statically (the ``Row(...)`` calls and which of
``reference=``, ``torch=`` and ``central=`` they give) to name each cell's oracles in its
notebook cell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pytest

from gradekit.sandbox.student import Student
from grader_tests.tolerances import VALUE_ATOL, VALUE_RTOL

Kind = Literal["reference", "torch", "central"]
#: The oracle kinds, in the order the tests are written.
KINDS: tuple[Kind, ...] = ("reference", "torch", "central")


@dataclass(frozen=True)
class Oracle:
    """One oracle of an item.

    Attributes:
        expected: Hidden inputs -> the answer this oracle computes.
        says: How a failing check's message names the oracle.
        cases: Case id -> what the row's ``draw`` takes (a shape, an activation and architecture).
        rtol: Relative tolerance of the comparison.
        atol: Absolute tolerance of the comparison.
    """

    expected: Callable[[Any], Any]
    says: str
    cases: Mapping[str, Any]
    rtol: float = VALUE_RTOL
    atol: float = VALUE_ATOL


@dataclass(frozen=True)
class Row:
    """One item checked against oracles.

    Attributes:
        cell: The grade cell the checks count for.
        item: The student's function or method, as the check ids show it.
        draw: ``(rng, case) -> inputs``: the hidden inputs of one check.
        answer: ``(student, inputs) -> answer``: calls the student's code.
        compare: ``(got, expected, inputs, *, oracle, rtol, atol)``: fails with a message for the
            student (what was compared, with which oracle, a likely mistake) unless they agree.
        reference: The reference NumPy implementation, if the item is checked against it.
        torch: PyTorch (a function, a model, autograd), if the item is checked against it.
        central: Central differences, if the item is a derivative checked against them.
    """

    cell: str
    item: str
    draw: Callable[[np.random.Generator, Any], Any]
    answer: Callable[[Student, Any], Any]
    compare: Callable[..., None]
    reference: Oracle | None = None
    torch: Oracle | None = None
    central: Oracle | None = None

    def oracle(self, kind: Kind) -> Oracle | None:
        return {"reference": self.reference, "torch": self.torch, "central": self.central}[kind]


def params(rows: list[Row], kind: Kind) -> list[Any]:
    """``(row, oracle, case)`` of every row with an oracle of ``kind``, one per case, each marked
    with the row's grade cell and named ``<item>-<case>`` (e.g. ``relu-batch1``)."""
    found = []
    for row in rows:
        oracle = row.oracle(kind)
        if oracle is None:
            continue
        for key, case in oracle.cases.items():
            found.append(
                pytest.param(
                    row,
                    oracle,
                    case,
                    id=f"{row.item}-{key}",
                    marks=pytest.mark.grade_cell(row.cell),
                )
            )
    return found


def check_row(
    row: Row, oracle: Oracle, case: Any, student: Student, rng: np.random.Generator
) -> None:
    """One check: draw the inputs, ask the student and the oracle, compare."""
    inputs = row.draw(rng, case)
    expected = oracle.expected(inputs)
    row.compare(
        row.answer(student, inputs),
        expected,
        inputs,
        oracle=oracle.says,
        rtol=oracle.rtol,
        atol=oracle.atol,
    )
