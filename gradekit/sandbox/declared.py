"""What a course declared of its libraries (:class:`gradekit.core.libraries.Libraries`), as one
process resolves it: the array types that cross the boundary as arrays (:class:`ArrayTypes`, used
by :mod:`gradekit.sandbox.wire`) and the functions that seed a library (:func:`seed`).

Only declared names are ever resolved, and in the student's process a library is never imported
to encode a value or to seed it: a value can only be of a type whose package is imported.
"""

from __future__ import annotations

import importlib
import math
import random
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradekit.core.libraries import ArrayType


class RebuildError(ValueError):
    """A value of a declared array type could not be rebuilt from the array that was sent."""


class ArrayTypes:
    """The array types a course declared (:class:`gradekit.core.libraries.ArrayType`), as one
    process resolves them.

    Encoding compares a value only with the declared types whose package this process has
    already imported: nothing is imported to encode a value. Decoding rebuilds only a declared
    type, with the function the course named (its package is imported on first use); the name a
    message carries is looked up among the declared ones, never imported.

    Args:
        declared: The course's declarations.
    """

    def __init__(self, declared: Iterable[ArrayType] = ()):
        self.declared = {kind.name: kind for kind in declared}
        self._classes: dict[str, type] = {}
        self._rebuild: dict[str, Any] = {}

    def describe(self, value: Any) -> tuple[str, np.ndarray, dict[str, Any]] | None:
        """``(type name, array, attributes)`` of a value of a declared type, else ``None``."""
        for kind in self.declared.values():
            cls = self._class(kind.name)
            if cls is None or not isinstance(value, cls):
                continue
            try:  # a student's subclass may raise anything: then it is not sent as an array
                array = value
                for method in kind.to_numpy:
                    array = getattr(array, method)()
                array = np.asarray(array)
                attributes = {name: getattr(value, name) for name in kind.attributes}
            except Exception:
                return None
            plain = {
                name: attribute
                for name, attribute in attributes.items()
                if isinstance(attribute, bool | int | str)
                or (isinstance(attribute, float) and math.isfinite(attribute))
            }
            return kind.name, array, plain
        return None

    def rebuild(self, name: str, array: np.ndarray, attributes: dict[str, Any]) -> Any:
        """A value of the declared type ``name`` from its array and attributes."""
        kind = self.declared[name]
        function = self._rebuild.get(name)
        if function is None:
            function = self._rebuild[name] = import_attribute(kind.from_numpy)
        try:
            value = function(array)
            for key, attribute in attributes.items():
                if getattr(value, key, None) != attribute:
                    setattr(value, key, attribute)
        except Exception as error:  # e.g. a dtype the library has no type for
            raise RebuildError(f"the array could not be rebuilt: {type(error).__name__}") from error
        return value

    def _class(self, name: str) -> type | None:
        cls = self._classes.get(name)
        if cls is None:
            found = imported_attribute(name)
            if not isinstance(found, type):
                return None
            cls = self._classes[name] = found
        return cls


def imported_attribute(name: str) -> Any:
    """The object a dotted name names, looked up among the modules already imported (``None`` if
    its package is not imported or it does not exist): never imports anything."""
    found: Any = sys.modules.get(name.split(".")[0])
    for part in name.split(".")[1:]:
        found = getattr(found, part, None)
        if found is None:
            return None
    return found


def import_attribute(name: str) -> Any:
    """The object a dotted name the course declared names, importing what it needs."""
    parts = name.split(".")
    found: Any = importlib.import_module(parts[0])
    for index, part in enumerate(parts[1:], start=2):
        try:
            found = getattr(found, part)
        except AttributeError:
            found = importlib.import_module(".".join(parts[:index]))
    return found


#: No array types beyond NumPy's.
NO_ARRAY_TYPES = ArrayTypes()


def seed(value: int, functions: Iterable[str]) -> None:
    """Seed ``random``, NumPy and each of ``functions`` (dotted names the course declared) whose
    package is already imported in this process."""
    random.seed(value)
    np.random.seed(value)
    for name in functions:
        function = imported_attribute(name)
        if function is not None:
            function(value)
