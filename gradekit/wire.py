"""Plain-data encoding for everything that crosses the boundary to a student's process.

Messages are JSON. An array travels as its dtype string, shape and base64 bytes (plain kinds
only, never objects), so the trusted side never unpickles anything the student's process
produced: a value from the student is always one of ``None``, ``bool``, ``int``, ``float``,
``str``, ``list``, ``tuple``, ``dict``, ``numpy.ndarray``, a NumPy scalar, a ``torch.Tensor``
(rebuilt from an array), a :class:`RemoteRef` (an object that stays in the student's process) or
an :class:`Opaque` description of something that cannot be sent (its type name and a short
``repr``).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Longest ``repr`` kept for a value that cannot be sent.
REPR_LIMIT = 200
#: Deepest nesting of lists/dicts accepted (a student's self-referencing list must not hang us).
MAX_DEPTH = 32
#: Kinds of array sent as data (numbers, booleans, text, dates); others are described.
ARRAY_KINDS = frozenset("biufcSUmM")


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
    # The dtype is parsed from a short string (never unpickled) and must be one of the plain
    # kinds; the bytes must be exactly what the shape needs. Cheaper than the ``.npy`` format,
    # whose header numpy parses with ``ast.literal_eval`` (a third of a round trip's time).
    try:
        descr, shape, text = data
        dtype = np.dtype(str(descr))
        if dtype.kind not in ARRAY_KINDS or dtype.itemsize == 0:
            raise WireError(f"arrays of dtype {dtype} are not sent")
        if not all(type(size) is int and size >= 0 for size in shape):
            raise WireError(f"malformed array shape {str(shape)[:80]}")
        raw = base64.b64decode(text, validate=True)
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise WireError("the array's bytes do not match its shape")
        return np.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)
    except WireError:
        raise
    except Exception as error:  # any malformed payload is a wire error, never a crash
        raise WireError(f"malformed array payload: {error}") from error


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _float(value: float) -> Any:
    # JSON has no NaN/inf; keep them exact and standard-conforming.
    return value if math.isfinite(value) else {"__float__": repr(value)}


def encode(value: Any, keep: Any = None, depth: int = 0) -> Any:
    """Turn ``value`` into JSON-compatible data.

    Args:
        value: The value to encode.
        keep: Called with objects that are not plain data; returns a :class:`RemoteRef` for them
            (the worker keeps them in its handle table) or ``None`` to describe them as
            :class:`Opaque`.
        depth: Current nesting depth (internal).

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
    if type(value).__module__.startswith("torch") and type(value).__name__ in {
        "Tensor",
        "Parameter",
    }:
        array = value.detach().cpu().numpy()
        return {
            "__tensor__": _array_to_data(array),
            "requires_grad": bool(value.requires_grad),
        }
    if isinstance(value, list | tuple):
        items = [encode(item, keep, depth + 1) for item in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [encode(k, keep, depth + 1), encode(v, keep, depth + 1)] for k, v in value.items()
            ]
        }
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


def decode(data: Any, resolve: Any = None) -> Any:
    """Rebuild a value from :func:`encode`'s output.

    Args:
        data: JSON-compatible data.
        resolve: Called with a :class:`RemoteRef` to turn it into a local object (the worker
            resolves its handles); ``None`` keeps references as :class:`RemoteRef`.

    Returns:
        The decoded value.

    Raises:
        WireError: If ``data`` is not something :func:`encode` produces.
    """
    try:
        return _decode(data, resolve, 0)
    except WireError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
        raise WireError(f"malformed message: {error}") from error


def _decode(data: Any, resolve: Any, depth: int) -> Any:
    if depth > MAX_DEPTH + 2:
        raise WireError("message nested too deeply")
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [_decode(item, resolve, depth + 1) for item in data]
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise WireError(f"unexpected value in message: {str(data)[:80]}")
    if "__ndarray__" in data:
        return _array_from_data(data["__ndarray__"])
    if "__npscalar__" in data:
        return _array_from_data(data["__npscalar__"])[()]
    if "__tensor__" in data:
        import torch  # only a message that carries a tensor needs torch

        tensor = torch.from_numpy(_array_from_data(data["__tensor__"]))
        return tensor.requires_grad_(True) if data.get("requires_grad") else tensor
    if "__float__" in data:
        return float(data["__float__"])
    if "__tuple__" in data:
        return tuple(_decode(item, resolve, depth + 1) for item in data["__tuple__"])
    if "__dict__" in data:
        return {
            _hashable(_decode(k, resolve, depth + 1)): _decode(v, resolve, depth + 1)
            for k, v in data["__dict__"]
        }
    if "__ref__" in data:
        handle, type_name = data["__ref__"]
        ref = RemoteRef(int(handle), str(type_name))
        return resolve(ref) if resolve is not None else ref
    if "__opaque__" in data:
        type_name, text = data["__opaque__"]
        return Opaque(str(type_name), str(text))
    raise WireError(f"unknown tag in message: {sorted(data)}")


def _hashable(key: Any) -> Any:
    try:
        hash(key)
    except TypeError:
        return repr(key)
    return key


def dumps(message: dict[str, Any]) -> bytes:
    """Serialise one protocol message as a single line of JSON."""
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def loads(line: bytes) -> dict[str, Any]:
    """Parse one protocol line; anything but a JSON object is a :class:`WireError`."""
    try:
        message = json.loads(line)
    except ValueError as error:
        raise WireError(f"not JSON: {error}") from error
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message
