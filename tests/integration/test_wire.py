"""gradekit.sandbox.wire: only plain data crosses the boundary, and it round-trips exactly."""

from __future__ import annotations

import contextlib
import math
import sys
import time
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradekit.core.libraries import ArrayType
from gradekit.sandbox import wire
from gradekit.sandbox.declared import NO_ARRAY_TYPES, ArrayTypes


def roundtrip(value, arrays=NO_ARRAY_TYPES):
    message = wire.dumps({"v": wire.encode(value, arrays=arrays)})
    return wire.decode(wire.loads(message)["v"], arrays=arrays)


class Box:
    """An array type of a library the engine does not know (a course declares it)."""

    def __init__(self, values: np.ndarray, frozen: bool = False):
        self.values = values
        self.frozen = frozen

    def numpy(self) -> np.ndarray:
        return self.values


class StubbornBox(Box):
    def numpy(self) -> np.ndarray:
        raise RuntimeError("no")


#: The library, as a course's array type names it: ``boxlib.Box``, rebuilt by ``boxlib.box``.
BOXLIB = types.ModuleType("boxlib")
BOXLIB.Box = Box  # type: ignore[attr-defined]
BOXLIB.box = lambda values: Box(values)  # type: ignore[attr-defined]
BOXES = ArrayType(
    name="boxlib.Box", from_numpy="boxlib.box", to_numpy=("numpy",), attributes=("frozen",)
)
#: A standard module no test imports: the trusted side must never import it for a message.
NEVER_IMPORTED = "tabnanny"


@pytest.fixture
def boxlib(monkeypatch: pytest.MonkeyPatch) -> ArrayTypes:
    monkeypatch.setitem(sys.modules, "boxlib", BOXLIB)
    return ArrayTypes([BOXES])


@given(
    hnp.arrays(dtype=hnp.floating_dtypes(sizes=64), shape=hnp.array_shapes(min_dims=0, max_dims=3))
)
def test_float_arrays_roundtrip_bit_for_bit(array):
    back = roundtrip(array)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 2.5, "text", [1, [2.0]], (1, 2), {"a": 1, 2: "b"}, float("inf")],
    ids=["none", "bool", "int", "float", "str", "list", "tuple", "dict", "inf"],
)
def test_plain_values_roundtrip(value):
    assert roundtrip(value) == value


def test_nan_roundtrips():
    assert math.isnan(roundtrip(float("nan")))


def test_numpy_scalar_keeps_its_type():
    back = roundtrip(np.float64(1.5))
    assert isinstance(back, np.float64) and back == 1.5


def test_a_declared_array_type_comes_back_as_itself_with_its_attributes(boxlib):
    back = roundtrip({"box": Box(np.arange(6.0).reshape(2, 3), frozen=True)}, boxlib)["box"]
    assert isinstance(back, Box) and back.frozen is True
    np.testing.assert_array_equal(back.values, np.arange(6.0).reshape(2, 3))


def test_an_undeclared_array_type_is_described_not_rebuilt(boxlib):
    back = roundtrip(Box(np.zeros(2)))
    assert isinstance(back, wire.Opaque)


def test_a_value_whose_conversion_fails_is_described_not_sent(boxlib):
    assert isinstance(roundtrip(StubbornBox(np.zeros(2)), boxlib), wire.Opaque)


def test_encoding_imports_no_declared_package():
    arrays = ArrayTypes([ArrayType(name=f"{NEVER_IMPORTED}.Array", from_numpy="numpy.asarray")])
    assert NEVER_IMPORTED not in sys.modules
    assert isinstance(roundtrip(object(), arrays), wire.Opaque)
    assert NEVER_IMPORTED not in sys.modules


def _declared_array(name, attributes=None) -> dict:
    data = wire.encode(np.zeros(2))["__ndarray__"]
    return {"__array__": [name, data, {} if attributes is None else attributes]}


@pytest.mark.parametrize(
    "message",
    [
        _declared_array(f"{NEVER_IMPORTED}.Array"),
        _declared_array(["boxlib.Box"]),
        _declared_array("boxlib.Box", {"frozen": True, "shape": 3}),
        _declared_array("boxlib.Box", {"shape": 3}),
        _declared_array("boxlib.Box", {"frozen": [True]}),
        _declared_array("boxlib.Box", {"frozen": "x" * 1000}),
        _declared_array("boxlib.Box", [True]),
        _declared_array("boxlib.Box") | {"extra": 1, "more": 2},
        {"__array__": ["boxlib.Box", {"__ndarray__": ["|O", [1], "AAAAAAAAAAA="]}, {}]},
    ],
    ids=[
        "undeclared-type",
        "name-not-a-string",
        "too-many-attributes",
        "undeclared-attribute",
        "attribute-not-plain",
        "attribute-too-long",
        "attributes-not-a-dict",
        "untagged-keys",
        "object-array",
    ],
)
def test_forged_declared_arrays_are_rejected_without_importing(boxlib, message):
    with pytest.raises(wire.WireError):
        wire.decode(message, arrays=boxlib)
    assert NEVER_IMPORTED not in sys.modules


def test_a_declared_array_the_library_cannot_rebuild_is_a_wire_error(boxlib, monkeypatch):
    def refuses(values):
        raise TypeError("no such dtype here")

    monkeypatch.setattr(BOXLIB, "box", refuses)
    with pytest.raises(wire.WireError):
        wire.decode(_declared_array("boxlib.Box"), arrays=ArrayTypes([BOXES]))


def test_other_objects_are_described_not_rebuilt():
    class Secret:
        def __repr__(self):
            return "Secret()"

    back = roundtrip(Secret())
    assert isinstance(back, wire.Opaque) and back.text == "Secret()"


def test_object_arrays_are_never_sent():
    back = roundtrip(np.array([object()], dtype=object))
    assert isinstance(back, wire.Opaque)


def test_self_referencing_list_does_not_hang():
    loop: list = []
    loop.append(loop)
    assert roundtrip(loop) is not None


@given(
    hnp.arrays(
        dtype=st.one_of(
            hnp.integer_dtypes(),
            hnp.unsigned_integer_dtypes(),
            hnp.complex_number_dtypes(),
            hnp.boolean_dtypes(),
            hnp.byte_string_dtypes(min_len=1),
            hnp.unicode_string_dtypes(min_len=1),
            hnp.datetime64_dtypes(),
        ),
        shape=hnp.array_shapes(min_dims=0, max_dims=3),
    )
)
def test_arrays_of_every_plain_kind_roundtrip(array):
    back = roundtrip(array)
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tobytes() == array.tobytes()


def test_a_transposed_array_arrives_in_its_own_order():
    array = np.arange(6.0).reshape(2, 3).T
    np.testing.assert_array_equal(roundtrip(array), array)


def test_arrays_arrive_writable():
    back = roundtrip(np.zeros((2, 2)))
    back[0, 0] = 1.0  # student code may update its inputs in place
    assert back[0, 0] == 1.0


def test_structured_arrays_are_described_not_sent():
    back = roundtrip(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]))
    assert isinstance(back, wire.Opaque)


def _array_message(descr, shape, data: bytes) -> dict:
    import base64

    return {"__ndarray__": [descr, shape, base64.b64encode(data).decode()]}


@pytest.mark.parametrize(
    "message",
    [
        _array_message("|O", [1], bytes(8)),
        _array_message("|V8", [1], bytes(8)),
        _array_message("<f8", [2], bytes(8)),
        _array_message("<f8", [-1], bytes(8)),
        _array_message("<f8", [True], bytes(8)),
        _array_message("not a dtype", [1], bytes(8)),
        {"__ndarray__": ["<f8", [1], "%%%"]},
        {"__ndarray__": ["<f8", [1]]},
    ],
    ids=[
        "object",
        "void",
        "too-few-bytes",
        "negative-shape",
        "bool-shape",
        "unknown-dtype",
        "not-base64",
        "no-bytes",
    ],
)
def test_unsafe_or_inconsistent_arrays_are_rejected(message):
    with pytest.raises(wire.WireError):
        wire.decode(message)


@pytest.mark.parametrize(
    "message",
    [
        {"__tuple__": 5},
        {"__dict__": [1]},
        {"__ref__": ["x"]},
        {"__ndarray__": 5},
        {"a": 1, "b": 2, "c": 3},
    ],
    ids=["tuple-of-int", "dict-of-int", "bad-ref", "array-of-int", "untagged-dict"],
)
def test_malformed_messages_raise_wire_error(message):
    with pytest.raises(wire.WireError):
        wire.decode(message)


@given(st.binary(max_size=64))
def test_garbage_never_crashes_the_reader(data):
    with contextlib.suppress(wire.WireError):
        wire.decode(wire.loads(data))


#: Messages a student's process could write to its end of the channel, each built to make the
#: trusted side's decoding slow (quadratic number parsing and arithmetic, dtype parsing, deep
#: nesting, many keys): each is about ``size`` bytes.
ADVERSARIAL = {
    "long-integers": lambda size: '{"value":[' + ",".join(["9" * 4000] * (size // 4001)) + "]}",
    "huge-shape": lambda size: (
        '{"value":{"__ndarray__":["<f8",[' + ",".join(["9" * 39] * (size // 40)) + '],""]}}'
    ),
    "long-dtype": lambda size: '{"value":{"__ndarray__":["' + "f8," * (size // 3) + '",[0],""]}}',
    "deep-nesting": lambda size: '{"value":' + "[" * (size // 2) + "]" * (size // 2) + "}",
    "unhashable-keys": lambda size: (
        '{"value":{"__dict__":[' + ",".join(["[[[1,2,3]],1]"] * (size // 14)) + "]}}"
    ),
    "tuple-keys": lambda size: (
        '{"value":{"__dict__":['
        + ",".join(['[{"__tuple__":[1,2,3,4,5,6,7]},1]'] * (size // 33))
        + "]}}"
    ),
    "many-values": lambda size: '{"value":[' + ",".join(["[1]"] * (size // 4)) + "]}",
    "declared-arrays": lambda size: (
        '{"value":['
        + ",".join(['{"__array__":["boxlib.Box",["<f8",[0],""],{"frozen":true}]}'] * (size // 60))
        + "]}"
    ),
    "plain-floats": lambda size: '{"value":[' + ",".join(["0.5"] * (size // 4)) + "]}",
}


def _decode_seconds(text: str, arrays: ArrayTypes) -> float:
    """CPU seconds of decoding ``text``, best of three (other work on the machine only adds)."""
    times = []
    for _ in range(3):
        started = time.process_time()
        with contextlib.suppress(wire.WireError):
            wire.decode(wire.loads(text.encode())["value"], arrays=arrays)
        times.append(time.process_time() - started)
    return min(times)


@pytest.mark.parametrize("build", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_decoding_work_is_bounded_and_linear(build, boxlib):
    """The CPU time of decoding grows no faster than the message (up to a bound on the values
    one message may hold); a quadratic decoder takes 16 times as long for 4 times the bytes."""
    small = _decode_seconds(build(1 << 20), boxlib)
    large = _decode_seconds(build(4 << 20), boxlib)
    assert large < 5.0, f"{large:.2f} s of CPU for a 4 MiB message"
    assert large < 6 * small + 0.1, f"{small:.3f} s for 1 MiB, {large:.3f} s for 4 MiB"
