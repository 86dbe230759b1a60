"""Plain-data encoding for everything that crosses the boundary to a student's process.

Messages are JSON. An array travels as its dtype string, shape and base64 bytes (plain kinds
only, never objects), so the trusted side never unpickles anything the student's process
produced: a value from the student is always one of ``None``, ``bool``, ``int``, ``float``,
``str``, ``list``, ``tuple``, ``dict``, ``numpy.ndarray``, a NumPy scalar, a value of an array
type the course declared (:class:`gradekit.core.libraries.ArrayType`: rebuilt from an array by
the function the course named, see :class:`gradekit.sandbox.declared.ArrayTypes`), a
:class:`RemoteRef` (an object that stays in the student's process) or an :class:`Opaque`
description of something that cannot be sent (its type name and a short ``repr``).

Decoding is the trusted side's only work on what a student's process sends, and that process can
write any bytes to its end of the channel: :func:`loads` and :func:`decode` spend time and memory
linear in the message's size, with constant bounds per value (nesting depth, values per message,
dimensions and dtypes of arrays, lengths of descriptions), and reject anything else as a
:class:`WireError`.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradekit.sandbox.declared import NO_ARRAY_TYPES, ArrayTypes, RebuildError

#: Longest ``repr`` kept for a value that cannot be sent.
REPR_LIMIT = 200
#: Deepest nesting of lists/dicts accepted (a student's self-referencing list must not hang us).
MAX_DEPTH = 32
#: Kinds of array sent as data (numbers, booleans, text, dates); others are described.
ARRAY_KINDS = frozenset("biufcSUmM")
#: Values one message may hold (list items, dict entries, arrays...): the decoder's work bound.
MAX_VALUES = 200_000
#: Dimensions of an array, and the largest size of one.
MAX_DIMENSIONS = 32
MAX_DIMENSION_SIZE = 1 << 40
#: Longest type name or description kept from the student's side.
MAX_NAME = 200
#: Array dtypes accepted: plain numbers, booleans, bytes/text of a given length, dates.
_DTYPE = re.compile(r"[<>|=]?(?:[?biufc]\d{1,2}|[SU]\d{1,7}|[mM]8(?:\[\w{1,6}\])?)")


@dataclass(frozen=True)
class RemoteRef:
    """An object kept in the student's process, named by a handle id."""

    handle: int
    type_name: str


@dataclass(frozen=True)
class Opaque:
    """A value that could not be sent as plain data (described, never rebuilt)."""

    type_name: str
    text: str


class WireError(ValueError):
    """A message that is not valid plain data."""


def _array_to_data(array: np.ndarray) -> list[Any]:
    return [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode("ascii")]


def _array_from_data(data: Any) -> np.ndarray:
    # The dtype is parsed from a short string of a fixed form (never unpickled), the shape is
    # checked before any arithmetic on it, and the bytes must be exactly what the shape needs.
    # Cheaper than the ``.npy`` format, whose header numpy parses with ``ast.literal_eval``.
    try:
        descr, shape, text = data
        if not isinstance(descr, str) or not _DTYPE.fullmatch(descr):
            raise WireError(f"arrays of dtype {str(descr)[:40]!r} are not sent")
        if not isinstance(shape, list) or len(shape) > MAX_DIMENSIONS:
            raise WireError("malformed array shape")
        size = 1
        for dimension in shape:
            if type(dimension) is not int or not 0 <= dimension <= MAX_DIMENSION_SIZE:
                raise WireError("malformed array shape")
            size = min(size * dimension, MAX_DIMENSION_SIZE)
        dtype = np.dtype(descr)
        if dtype.kind not in ARRAY_KINDS or dtype.itemsize == 0 or not isinstance(text, str):
            raise WireError(f"arrays of dtype {descr!r} are not sent")
        if len(text) != 4 * -(-size * dtype.itemsize // 3):
            raise WireError("the array's bytes do not match its shape")
        raw = base64.b64decode(text, validate=True)
        return np.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)
    except WireError:
        raise
    except Exception as error:  # any malformed payload is a wire error, never a crash
        raise WireError(f"malformed array payload: {type(error).__name__}") from error


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _float(value: float) -> Any:
    # JSON has no NaN/inf; keep them exact and standard-conforming.
    return value if math.isfinite(value) else {"__float__": repr(value)}


def encode(
    value: Any, keep: Any = None, depth: int = 0, *, arrays: ArrayTypes = NO_ARRAY_TYPES
) -> Any:
    """Turn ``value`` into JSON-compatible data.

    Args:
        value: The value to encode.
        keep: Called with objects that are not plain data; returns a :class:`RemoteRef` for them
            (the worker keeps them in its handle table) or ``None`` to describe them as
            :class:`Opaque`.
        depth: Current nesting depth (internal).
        arrays: The array types the course declared (sent as arrays).

    Returns:
        A structure of dicts, lists, strings and numbers.
    """
    if depth > MAX_DEPTH:
        return {"__opaque__": [_type_name(value), "nested too deeply"]}
    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
        if not _sendable(value.dtype):
            return {"__opaque__": [_type_name(value), _safe_repr(value)]}
        return {"__npscalar__": _array_to_data(np.asarray(value))}
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, RemoteRef):
        return {"__ref__": [value.handle, value.type_name]}
    if isinstance(value, np.ndarray):
        if not _sendable(value.dtype):
            return {"__opaque__": [f"numpy.ndarray[{value.dtype}]", _safe_repr(value)]}
        return {"__ndarray__": _array_to_data(value)}
    if isinstance(value, list | tuple):
        items = [encode(item, keep, depth + 1, arrays=arrays) for item in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [
                    encode(k, keep, depth + 1, arrays=arrays),
                    encode(v, keep, depth + 1, arrays=arrays),
                ]
                for k, v in value.items()
            ]
        }
    described = arrays.describe(value) if arrays.declared else None
    if described is not None and _sendable(described[1].dtype):
        name, array, attributes = described
        return {"__array__": [name, _array_to_data(array), attributes]}
    if keep is not None:
        ref = keep(value)
        if ref is not None:
            return encode(ref)
    return {"__opaque__": [_type_name(value), _safe_repr(value)]}


def _sendable(dtype: np.dtype[Any]) -> bool:
    return dtype.kind in ARRAY_KINDS and dtype.itemsize > 0


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[:REPR_LIMIT]
    except Exception:  # a student's __repr__ may raise anything
        return "<repr failed>"


def decode(data: Any, resolve: Any = None, *, arrays: ArrayTypes = NO_ARRAY_TYPES) -> Any:
    """Rebuild a value from :func:`encode`'s output.

    Args:
        data: JSON-compatible data.
        resolve: Called with a :class:`RemoteRef` to turn it into a local object (the worker
            resolves its handles); ``None`` keeps references as :class:`RemoteRef`.
        arrays: The array types the course declared (any other is a :class:`WireError`).

    Returns:
        The decoded value.

    Raises:
        WireError: If ``data`` is not something :func:`encode` produces, or exceeds a bound.
    """
    try:
        with _no_cyclic_gc():
            return _Decoder(resolve, arrays).decode(data, 0)
    except WireError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
        raise WireError(f"malformed message: {type(error).__name__}") from error


class _Decoder:
    """One message's decoding, counting the values it builds."""

    def __init__(self, resolve: Any, arrays: ArrayTypes):
        self.resolve = resolve
        self.arrays = arrays
        self.values = 0

    def decode(self, data: Any, depth: int) -> Any:
        self._count(1)
        if depth > MAX_DEPTH + 2:
            raise WireError("message nested too deeply")
        if data is None or isinstance(data, _PLAIN):
            return data
        if isinstance(data, list):
            if not any(isinstance(item, _CONTAINERS) for item in data):
                self._count(len(data))  # plain values only: kept as they are (the fast path)
                return data
            return [self.decode(item, depth + 1) for item in data]
        if not isinstance(data, dict) or len(data) not in (1, 2):
            raise WireError("unexpected value in message")
        if "__ndarray__" in data:
            return _array_from_data(data["__ndarray__"])
        if "__npscalar__" in data:
            array = _array_from_data(data["__npscalar__"])
            if array.shape != ():
                raise WireError("a NumPy scalar must have the shape ()")
            return array[()]
        if "__array__" in data:
            return self._declared_array(data["__array__"])
        if "__float__" in data:
            text = data["__float__"]
            if text not in ("nan", "inf", "-inf"):
                raise WireError("malformed special float")
            return float(text)
        if "__tuple__" in data:
            return tuple(self.decode(_list(data["__tuple__"]), depth))
        if "__dict__" in data:
            decoded = {}
            for pair in _list(data["__dict__"]):
                key, value = _list(pair)
                decoded[_key(self.decode(key, depth + 1))] = self.decode(value, depth + 1)
            return decoded
        if "__ref__" in data:
            handle, type_name = _list(data["__ref__"])
            if type(handle) is not int:
                raise WireError("malformed object handle")
            ref = RemoteRef(handle, _name(type_name))
            return self.resolve(ref) if self.resolve is not None else ref
        if "__opaque__" in data:
            type_name, text = _list(data["__opaque__"])
            return Opaque(_name(type_name), _name(text))
        raise WireError("unknown tag in message")

    def _declared_array(self, payload: Any) -> Any:
        """A value of a declared array type: its name must be declared, its attributes among
        the declared ones and plain (bounded work: at most as many as the course declared)."""
        name, array, attributes = _list(payload)
        kind = self.arrays.declared.get(name) if isinstance(name, str) else None
        if kind is None:
            raise WireError("an array of a type the course does not declare")
        if not isinstance(attributes, dict) or len(attributes) > len(kind.attributes):
            raise WireError("malformed array attributes")
        self._count(len(attributes))
        for key, value in attributes.items():
            if key not in kind.attributes or not isinstance(value, _PLAIN):
                raise WireError("malformed array attributes")
            if isinstance(value, str) and len(value) > MAX_NAME:
                raise WireError("malformed array attributes")
        try:
            return self.arrays.rebuild(name, _array_from_data(array), attributes)
        except RebuildError as error:
            raise WireError(str(error)) from error

    def _count(self, values: int) -> None:
        self.values += values
        if self.values > MAX_VALUES:
            raise WireError(f"more than {MAX_VALUES} values in one message")


_PLAIN = (bool, int, float, str)
_CONTAINERS = (list, dict)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Building many containers triggers the cyclic garbage collector again and again, each time
    over every live object: without it, building a message is linear in its size (it holds no
    cycles, and reference counting frees it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise WireError("malformed message: a list was expected")
    return data


def _key(key: Any) -> Any:
    """A dict key: anything :func:`encode` can produce as one (hashable plain data)."""
    if isinstance(key, list | dict | Opaque):
        raise WireError("malformed message: an unhashable dict key")
    if isinstance(key, tuple):
        for item in key:
            _key(item)
    return key


def _name(text: Any) -> str:
    return str(text)[:MAX_NAME] if isinstance(text, str) else "?"


def dumps(message: dict[str, Any]) -> bytes:
    """Serialise one protocol message as a single line of JSON."""
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


#: Digits of the longest integer a message may hold (a 64-bit integer has at most 20):
#: converting a long digit string costs time quadratic in its length.
MAX_INTEGER_DIGITS = 40
_LONG_DIGITS = re.compile(rb"[\[,:\s]-?\d{%d}" % (MAX_INTEGER_DIGITS + 1))


def loads(line: bytes) -> dict[str, Any]:
    """Parse one protocol line; anything but a JSON object is a :class:`WireError`."""
    if _LONG_DIGITS.search(line):
        raise WireError(f"not JSON: a number of more than {MAX_INTEGER_DIGITS} digits")
    try:
        with _no_cyclic_gc():
            message = json.loads(line)
    except (ValueError, RecursionError) as error:  # integers of 4300+ digits are ValueErrors
        raise WireError(f"not JSON: {type(error).__name__}") from error
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message
