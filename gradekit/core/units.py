"""The facts the shortcut scan records about each statement of a notebook's definitions.

:mod:`gradekit.core.bindings` reads them from the source; :mod:`gradekit.core.shortcuts` judges
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Built-ins whose call details matter to the rules (the looked-up object and name).
LOOKUP_BUILTINS = frozenset({"getattr", "hasattr", "setattr", "delattr", "vars"})


@dataclass(frozen=True)
class Call:
    """A call of a name that may be a built-in looking names up (``getattr(np, name)``).

    Attributes:
        arguments: How many positional arguments it has.
        target: The first argument as a global name and the attributes read after it, if it is
            one (``("np", "linalg")`` for ``np.linalg``).
        attribute: The second argument, if it is a string constant.
    """

    arguments: int
    target: tuple[str, ...] | None
    attribute: str | None


@dataclass(frozen=True)
class Reference:
    """A read of one of the notebook's global names.

    Attributes:
        name: The global name.
        attributes: The attributes read after it (``("linalg", "norm")`` for
            ``np.linalg.norm``).
        line: Line in its cell.
        load_time: Whether it is evaluated when the definitions load rather than when a
            function is called.
        call: Details when the name is called as a look-up built-in (``getattr``, ``vars``).
    """

    name: str
    attributes: tuple[str, ...]
    line: int
    load_time: bool
    call: Call | None = None


@dataclass
class Unit:
    """One top-level statement of a cell, or the header of a compound statement.

    Attributes:
        cell: The cell's readable key (``cell 14 'activation_functions'``).
        line: First line of the statement in its cell.
        label: What it is, for messages (``def relu``, ``class Net``, ``the statement``).
        references: Every read of a global name in it, at any depth.
        imports: Every module (or ``module.name``) imported in it, with its line.
        strings: Every string constant in it, with its line.
        attributes: Every attribute name read or written in it, with its first line.
        binds: Global names it binds: to an imported module or name (the dotted name), or to
            its own code (``None``).
        changes: Global names whose objects it changes (``np.tanh = ...``, ``D[k] = ...``,
            ``setattr(C, ...)``).
        calls_methods_of: Global names whose methods it calls (``CACHE.update(...)``), which
            may change a data object.
        aliases: Pairs of global names it makes refer to the same object (``a = b``).
        deletes: Global names it deletes.
        star_imports: Modules it imports every name of (``from m import *``), with the line.
        changes_unknown_object: Whether code that runs at load time changes an object that is
            not a name (``make().attr = ...``).
    """

    cell: str
    line: int
    label: str
    references: list[Reference] = field(default_factory=list)
    imports: list[tuple[str, int]] = field(default_factory=list)
    strings: list[tuple[str, int]] = field(default_factory=list)
    attributes: dict[str, int] = field(default_factory=dict)
    binds: list[tuple[str, str | None]] = field(default_factory=list)
    changes: set[str] = field(default_factory=set)
    calls_methods_of: set[str] = field(default_factory=set)
    aliases: list[tuple[str, str]] = field(default_factory=list)
    deletes: set[str] = field(default_factory=set)
    star_imports: list[tuple[str, int]] = field(default_factory=list)
    changes_unknown_object: bool = False
