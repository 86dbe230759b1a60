"""grader_tests.oracles.memoized: an oracle runs once per distinct input; callers get copies."""

from __future__ import annotations

import numpy as np
import pytest

from grader_tests import oracles
from grader_tests.networks import Problem


@pytest.fixture
def counted():
    calls: list[object] = []

    @oracles.memoized
    def doubled(values, *, scale=2.0):
        calls.append(values)
        return [np.asarray(values) * scale]

    return doubled, calls


def test_equal_arrays_are_computed_once(counted):
    doubled, calls = counted
    first = doubled(np.arange(3.0))
    second = doubled(np.arange(3.0))  # another array, the same values
    assert len(calls) == 1
    np.testing.assert_array_equal(first[0], second[0])


@pytest.mark.parametrize(
    ("other_args", "other_kwargs"),
    [
        ((np.arange(3.0) + 1,), {}),
        ((np.arange(3.0).reshape(3, 1),), {}),
        ((np.arange(3, dtype=np.float32),), {}),
        ((np.arange(3.0),), {"scale": 3.0}),
    ],
    ids=["other-values", "other-shape", "other-dtype", "other-keyword"],
)
def test_different_inputs_are_computed_again(counted, other_args, other_kwargs):
    doubled, calls = counted
    doubled(np.arange(3.0))
    doubled(*other_args, **other_kwargs)
    assert len(calls) == 2


def test_each_caller_gets_its_own_copy(counted):
    doubled, _ = counted
    doubled(np.arange(3.0))[0][0] = 99.0  # a check may change what it gets
    assert doubled(np.arange(3.0))[0][0] == 0.0


def test_problems_are_compared_by_their_arrays():
    calls: list[Problem] = []

    @oracles.memoized
    def size_of(problem: Problem):
        calls.append(problem)
        return problem.X.size

    def problem(x: float) -> Problem:
        return Problem(
            "relu",
            "sigmoid",
            [np.ones((2, 1))],
            [np.zeros((1, 1))],
            np.full((3, 2), x),
            np.zeros((3, 1)),
        )

    size_of(problem(1.0))
    size_of(problem(1.0))
    size_of(problem(2.0))
    assert len(calls) == 2


def test_the_oldest_input_is_forgotten_beyond_the_limit(counted, monkeypatch):
    monkeypatch.setattr(oracles, "MEMO_SIZE", 2)
    doubled, calls = counted
    for value in (1.0, 2.0, 3.0, 1.0):
        doubled(np.array([value]))
    assert len(calls) == 4  # 1.0 was forgotten when 3.0 came
