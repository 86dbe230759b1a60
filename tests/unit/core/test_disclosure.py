"""gradekit.core.disclosure: the student's process's words reach the feedback only when they cannot
carry the hidden inputs (or reference code)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from gradekit.core.disclosure import MAX_TEXT, WITHHELD, Disclosure, cap
from gradekit.core.libraries import Libraries
from gradekit.core.notebook import notebook_from_dict
from gradekit.core.plans import ReferencePackage
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.problems import StudentCodeError
from gradekit.sandbox.student import Student
from gradekit.sandbox.submission import Submission

SOURCE = textwrap.dedent(
    """
    import numpy as np

    class ShapeError(Exception):
        pass

    def relu(x):
        if x.ndim != 2:
            raise ShapeError("x must be 2-D")
        return np.maximum(x, 0)
    """
)
DISCLOSURE = Disclosure.of([("cell 1 'activations'", SOURCE)])


@pytest.mark.parametrize(
    ("kind", "message", "shown"),
    [
        pytest.param("ShapeError", "x must be 2-D", True, id="own-string-literal"),
        pytest.param(
            "ValueError",
            "operands could not be broadcast together with shapes (3,4) (4,) ",
            True,
            id="numpy-broadcast",
        ),
        pytest.param(
            "ValueError",
            "operands could not be broadcast together with shapes (3,4000) (4,) ",
            False,
            id="broadcast-with-a-large-size",
        ),
        pytest.param(
            "IndexError",
            "index 3 is out of bounds for axis 0 with size 3",
            True,
            id="index-out-of-bounds",
        ),
        pytest.param(
            "AttributeError",
            "'numpy.ndarray' object has no attribute 'append'",
            True,
            id="numpy-attribute",
        ),
        pytest.param(
            "AttributeError",
            "'numpy.ndarray' object has no attribute 'q0_125'",
            False,
            id="attribute-not-in-the-notebook",
        ),
        pytest.param("NameError", "name 'relu' is not defined", True, id="own-name"),
        pytest.param("ValueError", "[[0.125, -1.5], [2.25, 0.0]]", False, id="input-values"),
        pytest.param("KeyError", "'0.125'", False, id="key-made-of-a-value"),
        pytest.param("ValueError", "x must be 2-D ", False, id="literal-plus-a-space"),
    ],
)
def test_a_message_is_shown_only_when_it_cannot_carry_hidden_inputs(kind, message, shown):
    assert (DISCLOSURE.message(kind, message) == message) is shown
    if not shown:
        assert DISCLOSURE.message(kind, message) == f"({WITHHELD})"


#: A library the engine does not know, as a course declares it: its type names and messages.
FRAMES = Libraries(
    type_names=frozenset({"Frame", "Float32"}),
    messages={"RuntimeError": ("frame of {int:a} rows cannot hold {name:b} values",)},
)
WITH_FRAMES = Disclosure.of([("cell 1 'activations'", SOURCE)], libraries=FRAMES)


@pytest.mark.parametrize(
    ("disclosure", "kind", "message", "shown"),
    [
        pytest.param(
            WITH_FRAMES,
            "RuntimeError",
            "frame of 3 rows cannot hold Float32 values",
            True,
            id="declared",
        ),
        pytest.param(
            DISCLOSURE,
            "RuntimeError",
            "frame of 3 rows cannot hold Float32 values",
            False,
            id="not-declared",
        ),
        pytest.param(
            WITH_FRAMES,
            "RuntimeError",
            "frame of 3 rows cannot hold q0_125 values",
            False,
            id="declared-with-a-part-not-a-name",
        ),
        pytest.param(
            WITH_FRAMES,
            "RuntimeError",
            "frame of 31337 rows cannot hold Float32 values",
            False,
            id="declared-with-a-large-integer",
        ),
        pytest.param(
            WITH_FRAMES,
            "ValueError",
            "frame of 3 rows cannot hold Float32 values",
            False,
            id="declared-for-another-type",
        ),
        pytest.param(
            WITH_FRAMES,
            "IndexError",
            "index 3 is out of bounds for axis 0 with size 3",
            True,
            id="numpy-still-known",
        ),
    ],
)
def test_a_library_message_is_shown_only_when_the_course_declares_it(
    disclosure, kind, message, shown
):
    assert (disclosure.message(kind, message) == message) is shown


@pytest.mark.parametrize(
    ("disclosure", "expected"),
    [
        pytest.param(WITH_FRAMES, "Frame", id="declared"),
        pytest.param(DISCLOSURE, "object", id="not-declared"),
    ],
)
def test_a_library_type_name_is_shown_only_when_the_course_declares_it(disclosure, expected):
    assert disclosure.name("Frame") == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("ValueError", "ValueError", id="builtin"),
        pytest.param("ShapeError", "ShapeError", id="defined-in-the-notebook"),
        pytest.param("LinAlgError", "LinAlgError", id="numpy"),
        pytest.param("x_0_125_m1_5", "an exception of another type", id="made-at-run-time"),
        pytest.param("E" * 100_000, "an exception of another type", id="huge"),
    ],
)
def test_exception_types_are_named_only_when_known(name, expected):
    assert DISCLOSURE.kind(name) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        pytest.param("line 3 of cell 1 'activations'", "line 3 of cell 1 'activations'", id="ok"),
        pytest.param("line 99 of cell 1 'activations'", "", id="past-the-cell"),
        pytest.param("line 1 of cell 7 '0.125'", "", id="a-cell-never-sent"),
    ],
)
def test_locations_name_only_lines_of_cells_that_were_sent(where, expected):
    assert DISCLOSURE.where(where) == expected


def test_warnings_show_known_messages_only():
    shown = DISCLOSURE.warning("RuntimeWarning", "overflow encountered in exp", "")
    assert shown == "RuntimeWarning: overflow encountered in exp"
    hidden = DISCLOSURE.warning("Warn_0_125", "0.125, -1.5", "")
    assert "0.125" not in hidden and "Warn_0_125" not in hidden


def test_texts_are_capped():
    assert len(cap("x" * 10 * MAX_TEXT)) == MAX_TEXT


#: A student's code that tries every channel back to its feedback with the hidden input ``x``
#: and with the reference code in its process.
LEAKY = textwrap.dedent(
    """
    import dis, io, warnings
    import numpy as np
    import refpkg

    def text(x):
        return repr(np.asarray(x).tolist())

    def raises_type_named(x):
        raise type("E" + text(x), (Exception,), {})("boom")

    def raises_message(x):
        raise ValueError(text(x))

    def raises_key(x):
        return {}[text(x)]

    def raises_reference_code(x):
        listing = io.StringIO()
        dis.dis(refpkg.secret, file=listing)
        raise RuntimeError(listing.getvalue())

    def warns(x):
        warnings.warn(type("W" + text(x), (UserWarning,), {})(text(x)))
        return 0

    def returns_named_object(x):
        return type("O" + text(x), (), {})()
    """
)
HIDDEN = np.array([[0.123456789, -9.87654321]])
MARKERS = ("0.123456", "9.876543", "secret", "LOAD_", "RETURN")


@pytest.fixture(scope="module")
def leaky(workers):
    limits = Limits(call_timeout=20, load_timeout=60, memory_mb=2048, preload=("numpy",))
    package = ReferencePackage("refpkg", {"__init__": "def secret(x):\n    return x * 31337 + 7\n"})
    notebook = notebook_from_dict(
        {"cells": [{"cell_type": "code", "source": LEAKY, "metadata": {}}]}, name="nb"
    )
    with Submission(
        notebook=notebook,
        start_channel=lambda: workers.start(limits),
        limits=limits,
        reference=package,
    ) as loaded:
        loaded.start()
        yield loaded


@pytest.mark.parametrize(
    "function",
    ["raises_type_named", "raises_message", "raises_key", "raises_reference_code"],
)
def test_no_exception_carries_hidden_inputs_or_reference_code(leaky, function):
    with pytest.raises(StudentCodeError) as raised:
        Student(leaky).call(function, HIDDEN)
    text = str(raised.value)
    assert function in text and len(text) <= MAX_TEXT
    assert not [marker for marker in MARKERS if marker in text], text


def test_no_warning_or_type_name_carries_hidden_inputs(leaky):
    leaky.warnings.clear()
    Student(leaky).call("warns", HIDDEN)
    got = Student(leaky).call("returns_named_object", HIDDEN)
    texts = [*leaky.warnings, got.type_name]
    assert texts and not [t for t in texts for marker in MARKERS if marker in t], texts
