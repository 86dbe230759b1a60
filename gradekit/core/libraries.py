"""What an assignment declares about the libraries its code uses beyond Python and NumPy.

The engine knows Python and NumPy only. An assignment whose students or checks use another
library (a deep-learning framework, say) declares, in its :class:`gradekit.core.plans.Assignment`,
what the engine needs to know about it (:class:`Libraries`):

- how to seed it before a call that asks for a seed (``seed_functions``); the engine seeds
  ``random`` and NumPy itself;
- which of its array types cross the boundary to the student's process, and how each becomes a
  NumPy array there and is rebuilt on the other side (``array_types``, :class:`ArrayType`);
- the type names and error messages of the library that the student's feedback may show
  (``type_names``, ``messages``; see :mod:`gradekit.core.disclosure`).

Every name is a dotted name of an installed library's attribute (``"pkg.module.function"``); the
engine resolves only the names declared here, never one a student's process sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


class DeclarationError(ValueError):
    """A declaration the engine cannot honour (a mistake of the course, not the student)."""


def _dotted(name: str, what: str) -> str:
    if not isinstance(name, str) or not _DOTTED.fullmatch(name):
        raise DeclarationError(f"{what} must be a dotted name like 'pkg.attribute', not {name!r}")
    return name


@dataclass(frozen=True)
class ArrayType:
    """An array type of a library that crosses the boundary to a student's process as a NumPy
    array (its dtype, shape and bytes: plain data) and a few plain attributes.

    Attributes:
        name: The type as ``package.attribute`` (instances of subclasses travel as it too). In
            the student's process a value is compared with it only once the student's code has
            imported the package; the engine never imports it there to encode a value.
        from_numpy: Dotted name of the function that rebuilds a value from a NumPy array (of any
            shape), on the trusted side and in the student's process; the first place that
            rebuilds one imports its package.
        to_numpy: Methods called in turn, without arguments, before ``numpy.asarray`` turns the
            value into an array (e.g. to detach it from a computation graph, or copy it to the
            CPU); empty: ``numpy.asarray(value)``.
        attributes: Attributes sent along (only ``bool``, ``int``, ``float`` or ``str`` values)
            and set on the rebuilt value when they differ from what ``from_numpy`` gave.
    """

    name: str
    from_numpy: str
    to_numpy: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _dotted(self.name, "an array type's name")
        _dotted(self.from_numpy, f"the from_numpy function of {self.name}")
        for method in (*self.to_numpy, *self.attributes):
            if not isinstance(method, str) or not _IDENTIFIER.fullmatch(method):
                raise DeclarationError(f"{method!r} of {self.name} is not an identifier")

    def as_data(self) -> dict[str, Any]:
        """Plain data (sent to the student's process)."""
        return {
            "name": self.name,
            "from_numpy": self.from_numpy,
            "to_numpy": list(self.to_numpy),
            "attributes": list(self.attributes),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ArrayType:
        """The declaration :meth:`as_data` describes."""
        return cls(
            name=data["name"],
            from_numpy=data["from_numpy"],
            to_numpy=tuple(data.get("to_numpy", ())),
            attributes=tuple(data.get("attributes", ())),
        )


@dataclass(frozen=True)
class Libraries:
    """What the engine must know of the libraries an assignment uses beyond Python and NumPy.

    Attributes:
        seed_functions: Dotted names of functions called with the seed, in the student's
            process, before a call that asks for a seed (after ``random.seed`` and
            ``numpy.random.seed``, which the engine always calls); each only when its top-level
            package is already imported there (the engine never imports a library to seed it).
        array_types: The library array types that cross the boundary as NumPy arrays (any other
            object stays in the student's process as a handle).
        type_names: Type names of the library (of values, exceptions and warnings) that the
            feedback may show, as Python's and NumPy's may be.
        messages: Exception type name -> the library's messages the feedback may show, as
            templates with checked parts: ``{int:a}`` (a small integer), ``{name:b}`` (a name of
            the notebook, of Python, NumPy or ``type_names``), ``{shape:c}`` and ``{op:d}``.
    """

    seed_functions: tuple[str, ...] = ()
    array_types: tuple[ArrayType, ...] = ()
    type_names: frozenset[str] = frozenset()
    messages: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        for name in self.seed_functions:
            _dotted(name, "a seed function")
        names = [kind.name for kind in self.array_types]
        if len(set(names)) != len(names):
            raise DeclarationError(f"an array type is declared twice: {names}")

    def as_data(self) -> dict[str, Any]:
        """What the student's process needs of the declaration (plain data)."""
        return {
            "seed_functions": list(self.seed_functions),
            "array_types": [kind.as_data() for kind in self.array_types],
        }


#: An assignment that uses no library beyond Python and NumPy.
NO_LIBRARIES = Libraries()
