"""gradekit.core.compare: the helpers a course's checks use; their failures say what was compared
with which oracle, never the inputs, and carry the named mistake as a field."""

from __future__ import annotations

import numpy as np
import pytest

from gradekit.core.compare import (
    CheckFailed,
    central_differences,
    check_close,
    check_true,
    fail,
    shape_of,
)

TOLERANCES = {"rtol": 1e-6, "atol": 1e-8}
EXPECTED = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def failure(got, expected=EXPECTED, **mistakes) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        check_close(
            got,
            expected,
            what="f(x)",
            oracle="the reference",
            on=shape_of(expected),
            mistakes=mistakes or None,
            **TOLERANCES,
        )
    return raised.value


def test_an_answer_within_the_tolerances_passes() -> None:
    check_close(
        EXPECTED * (1 + 1e-9), EXPECTED, what="f(x)", oracle="o", on="an input", **TOLERANCES
    )


@pytest.mark.parametrize(
    ("got", "mistake", "words"),
    [
        pytest.param(
            EXPECTED * 2, "twice", "largest error 6 (relative 1) at index (1, 2)", id="named"
        ),
        pytest.param(-EXPECTED, "the sign is flipped", "largest error 12", id="sign-flipped"),
        pytest.param(EXPECTED.T, "a transposed matrix (check the order", "shape", id="transposed"),
        pytest.param(
            EXPECTED.sum(axis=1), "a sum or mean without keepdims=True", "shape", id="keepdims"
        ),
        pytest.param(EXPECTED + 1, "", "largest error 1", id="unnamed"),
        pytest.param(EXPECTED.reshape(1, 6), "", "reshape the result", id="reshape"),
    ],
)
def test_a_wrong_answer_names_its_mistake_in_the_message_and_the_field(got, mistake, words):
    error = failure(got, twice=EXPECTED * 2)
    assert error.mistake.startswith(mistake)
    assert words in error.msg
    assert error.msg.startswith("f(x) compared with the reference on an input of shape (2, 3)")
    assert ("Likely mistake: " + mistake in error.msg) == bool(mistake)
    assert error.msg.endswith(".") and ".." not in error.msg


def test_a_message_never_shows_the_values() -> None:
    secret = np.array([[0.123456789, 9.87654321]])
    error = failure(secret * 3, secret)
    assert "0.123" not in error.msg and "9.87" not in error.msg


def test_nan_where_a_finite_value_is_expected_is_named() -> None:
    got = EXPECTED.copy()
    got[0, 1] = np.nan
    assert "got NaN or infinity at index (0, 1)" in failure(got).msg


@pytest.mark.parametrize(
    ("value", "words"),
    [
        pytest.param(None, "returned None (is a `return` missing?)", id="none"),
        pytest.param({"a": 1}, "returned a dict, expected numbers", id="dict"),
    ],
)
def test_an_answer_that_is_not_numbers_says_so(value, words) -> None:
    assert words in failure(value).msg


def test_check_true_fails_with_the_sentence_and_the_mistake() -> None:
    check_true(True, "never shown")
    with pytest.raises(CheckFailed) as raised:
        check_true(False, "two calls gave different losses", mistake="the seed is not set.")
    assert (
        raised.value.msg == "two calls gave different losses. Likely mistake: the seed is not set."
    )
    assert raised.value.mistake == "the seed is not set"


def test_a_failure_is_pytests_own_failure_without_a_traceback() -> None:
    with pytest.raises(pytest.fail.Exception) as raised:
        fail("plain")
    assert raised.value.msg == "plain" and not raised.value.pytrace


def test_central_differences_match_an_analytic_gradient_and_leave_x_unchanged() -> None:
    x = np.random.default_rng(0).normal(size=(3, 4))
    before = x.copy()
    gradient = central_differences(lambda v: float(np.sum(np.sin(v) * v)), x, step=1e-6)
    np.testing.assert_allclose(gradient, np.cos(x) * x + np.sin(x), rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, before)
