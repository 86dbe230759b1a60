"""gradekit.wire: only plain data crosses the boundary, and it round-trips exactly."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradekit import wire


def roundtrip(value):
    return wire.decode(wire.loads(wire.dumps({"v": wire.encode(value)}))["v"])


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


def test_tensor_comes_back_as_tensor():
    back = roundtrip(torch.tensor([[1.0, 2.0]], requires_grad=True))
    assert isinstance(back, torch.Tensor) and back.requires_grad
    assert back.detach().tolist() == [[1.0, 2.0]]


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


def test_pickled_arrays_are_rejected():
    import base64
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    message = {"__ndarray__": base64.b64encode(buffer.getvalue()).decode()}
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
