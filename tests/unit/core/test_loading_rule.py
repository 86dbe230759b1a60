"""gradekit.core.loading_rule: the rule's cost is linear in the source, on pathological cells.

(That the course's shipped copy of the rule and its ``import_definitions`` load the same values as
grading: ``tests/course/test_loading_rule.py``.)
"""

from __future__ import annotations

import pytest

from gradekit.core import loading_rule
from tests.unit.core.test_shortcuts import assert_linear

PATHOLOGICAL = {
    "many-statements": lambda n: (
        "".join(f"x{i} = {i}\n" for i in range(n)) + "def relu():\n    return x0"
    ),
    "a-chain-of-needs": lambda n: (
        "a0 = 1\n" + "".join(f"a{i} = a{i - 1} + 1\n" for i in range(1, n)) + f"relu = a{n - 1}"
    ),
    "an-alias-chain-changed-at-the-end": lambda n: (
        "a0 = {}\n"
        + "".join(f"a{i} = a{i - 1}\n" for i in range(1, n))
        + f"a{n - 1}['k'] = 1\nrelu = a0"
    ),
    "n-lambdas-on-one-line": lambda n: (
        "relu = [" + ", ".join("lambda nn: nn" for _ in range(n)) + "]"
    ),
    "n-blocks": lambda n: "".join(
        f"if x{i}:\n    y{i} = {i}\nelse:\n    relu = y{i}\n" for i in range(n)
    ),
}


@pytest.mark.parametrize("build", list(PATHOLOGICAL.values()), ids=list(PATHOLOGICAL))
def test_the_rule_costs_linear_time(build):
    def work(count: int):
        cells = [("cell 1", build(count))]
        return lambda: loading_rule.plan_cells(cells, ["relu"])

    assert_linear(work, 1000)
