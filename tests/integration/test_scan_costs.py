"""The forbidden-shortcut scan and the loading rule cost time linear in the source, on
pathological sources a student could hand in (each measured at two sizes; see
:func:`assert_linear`). They measure CPU time, so they are integration tests, not unit tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gradekit.core import loading_rule
from gradekit.core.shortcuts import read_definitions
from tests.unit.fixtures.shortcut_notebooks import FROM_SCRATCH, notebook


def cpu_seconds(work: Callable[[], object], runs: int = 3) -> float:
    """This process's CPU time for ``work``, the best of ``runs`` (other work on the machine
    does not count, and the best run is the least disturbed by it)."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


# Scaling, not a machine's speed, is what these tests judge: the work on a source four times as
# large may cost at most LINEAR_SLACK times four (a quadratic step costs sixteen times; measured
# here: 5 to 7 times, up to 8 on a loaded machine), and nothing may cost more than
# ABSOLUTE_CAP_SECONDS of CPU on any machine.
LINEAR_SLACK = 3.0
ABSOLUTE_CAP_SECONDS = 6.0


def assert_linear(work_for_size: Callable[[int], Callable[[], object]], size: int) -> None:
    """Measure ``work_for_size(size)`` and ``work_for_size(4 * size)`` and require linear cost."""
    small = cpu_seconds(work_for_size(size))
    large = cpu_seconds(work_for_size(4 * size))
    assert large < ABSOLUTE_CAP_SECONDS, f"{large:.2f} s of CPU"
    assert large < max(small, 0.05) * 4 * LINEAR_SLACK, f"{small:.2f} s, then {large:.2f} s at 4x"


def chain_of_definitions(count: int) -> str:
    """``f0`` uses ``torch.relu``; each ``f<i>`` calls ``f<i-1>``, ``count`` functions in all."""
    chain = "".join(
        f"def f{i}(x):\n    return f{i - 1}(x) + np.float64(x)\n" for i in range(1, count)
    )
    return "def f0(x):\n    return torch.relu(x)\n" + chain


def test_a_shortcut_five_thousand_definitions_deep_is_found_through_the_chain() -> None:
    found = read_definitions(notebook(chain_of_definitions(5000)), ("f4999",)).shortcuts(
        ("f4999",), FROM_SCRATCH
    )
    assert [shortcut.what for shortcut in found] == ["uses torch.relu"]
    assert found[0].via == ("f4998", "f4997", "f4996", "…")


def test_reading_and_searching_definitions_costs_linear_time() -> None:
    def work(count: int) -> Callable[[], object]:
        source = chain_of_definitions(count)
        return lambda: read_definitions(notebook(source), (f"f{count - 1}",)).shortcuts(
            (f"f{count - 1}",), FROM_SCRATCH
        )

    assert_linear(work, 1250)


PATHOLOGICAL = [
    pytest.param(
        lambda n: (
            "".join(f"import m{i} as mod\n" for i in range(n))
            + "def relu(x):\n"
            + "".join(f"    mod.a{i}.b(x)\n" for i in range(n))
        ),
        id="a-name-imported-n-times-read-with-n-attributes",
    ),
    pytest.param(
        lambda n: "relu = [" + ", ".join("lambda nn: nn" for _ in range(n)) + "]",
        id="n-lambdas-on-one-line",
    ),
    pytest.param(
        lambda n: (
            "a0 = np.abs\n"
            + "".join(f"a{i} = a{i - 1}\n" for i in range(1, n))
            + f"relu = a{n - 1}"
        ),
        id="an-alias-chain-n-long",
    ),
    pytest.param(
        lambda n: (
            "".join(f"class C{i}:\n    T{i % 7}[{i}] = globals()\n" for i in range(n))
            + "relu = np.abs"
        ),
        id="n-classes-rebinding-names",
    ),
]


@pytest.mark.parametrize("build_source", PATHOLOGICAL)
def test_pathological_source_costs_linear_time(build_source: Callable[[int], str]) -> None:
    def work(count: int) -> Callable[[], object]:
        source = build_source(count)
        return lambda: read_definitions(notebook(source), ("relu",)).shortcuts(
            ("relu",), FROM_SCRATCH
        )

    assert_linear(work, 1000)


RULE_PATHOLOGICAL = {
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


@pytest.mark.parametrize("build", list(RULE_PATHOLOGICAL.values()), ids=list(RULE_PATHOLOGICAL))
def test_the_rule_costs_linear_time(build):
    def work(count: int):
        cells = [("cell 1", build(count))]
        return lambda: loading_rule.plan_cells(cells, ["relu"])

    assert_linear(work, 1000)
