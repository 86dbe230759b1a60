"""An index of a notebook's global names: what binds each, what changes it, what it stands for.

:class:`NameIndex` is built once from the :class:`~gradekit.core.units.Unit` facts of every cell and
answers what a read of a name may resolve to: the units that bind or change it, the modules it
may be imported from (explicitly or by a star import), a built-in, and which dynamic escapes
(:mod:`gradekit.core.escapes`) each unit contains. Units that can rebind any name are its
``wildcards``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gradekit.core import escapes
from gradekit.core.units import LOOKUP_BUILTINS, Reference, Unit

#: Longest student-chosen text (a name, a dotted path, a cell's id) quoted in a message.
QUOTE_LIMIT = 60


def quote(text: str) -> str:
    """``text``, cut to :data:`QUOTE_LIMIT` characters."""
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


class DottedNames:
    """Dotted names (modules, escapes) and the question: is this dotted name at or under one?

    For a name bound to many modules only the bindings that can matter are tried: the first one
    at or under a target, and those that are a proper prefix of one (bounded by the targets).
    """

    def __init__(self, targets: Iterable[str]):
        self.targets = frozenset(targets)
        self.prefixes = {
            ".".join(target.split(".")[:end])
            for target in self.targets
            for end in range(1, target.count(".") + 1)
        }

    def match(self, dotted: str) -> str | None:
        parts = dotted.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if prefix in self.targets:
                return prefix
            if prefix not in self.prefixes:
                return None
        return None

    def relevant(self, dotted_names: list[str]) -> list[str]:
        """The first of ``dotted_names`` at or under a target, and those above one."""
        first = next((dotted for dotted in dotted_names if self.match(dotted)), None)
        above = [dotted for dotted in dotted_names if dotted in self.prefixes]
        return ([first] if first else []) + above


class NameIndex:
    """Where each global name of a notebook's definitions is bound, changed and rebound, and
    the dynamic escapes of each unit (independent of any course's rules)."""

    def __init__(self, units: list[Unit]):
        self.units = units
        self.code: dict[str, dict[int, None]] = {}  # name -> units binding it (ordered set)
        self.imported: dict[str, dict[str, tuple[int, int]]] = {}  # name -> dotted -> place
        self.stars: dict[str, tuple[int, int]] = {}  # module -> place of its star import
        self.deleted: set[str] = set()
        self.groups = _Groups()
        self.changed_by: dict[str, dict[int, None]] = {}  # alias group -> units changing it
        for index, unit in enumerate(units):
            self._add(index, unit)
        for index, unit in enumerate(units):
            for name in unit.changes | {n for n in unit.calls_methods_of if n not in self.imported}:
                self.changed_by.setdefault(self.groups.find(name), {})[index] = None
        self._escape_targets = DottedNames(escapes.TARGETS)
        self._relevant: dict[tuple[frozenset[str], str], list[str]] = {}
        self._relevant_stars: dict[frozenset[str], list[str]] = {}
        self.escapes = [list(self._unit_escapes(unit)) for unit in units]
        # An import alone rebinds nothing but its own name: only code that uses an escape can.
        self.wildcards = [
            index
            for index, unit in enumerate(units)
            if unit.changes_unknown_object
            or any(e.rebinds for e, _, _ in self._unit_escapes(unit, imports=False))
        ]

    def _add(self, index: int, unit: Unit) -> None:
        for name, dotted in unit.binds:
            if dotted is None:
                self.code.setdefault(name, {})[index] = None
            else:
                self.imported.setdefault(name, {}).setdefault(dotted, (index, unit.line))
        for module, line in unit.star_imports:
            self.stars.setdefault(module, (index, line))
        for first, second in unit.aliases:
            self.groups.union(first, second)
        self.deleted |= unit.deletes

    # -- resolving a reference ------------------------------------------------------------------

    def dotted(self, reference: Reference, targets: DottedNames) -> Iterator[str]:
        """The dotted names ``reference`` may stand for that can matter for ``targets``."""
        name, tail = reference.name, "".join(f".{attr}" for attr in reference.attributes)
        key = (targets.targets, name)
        if key not in self._relevant:
            if targets.targets not in self._relevant_stars:
                # A star import matters if it is at or under a target (one is enough), or above
                # one (``from pkg import *`` and ``pkg.sub``).
                self._relevant_stars[targets.targets] = targets.relevant(list(self.stars))
            modules = targets.relevant(list(self.imported.get(name, {})))
            stars = [f"{star}.{name}" for star in self._relevant_stars[targets.targets]]
            self._relevant[key] = modules + stars
        for dotted in self._relevant[key]:
            yield dotted + tail

    def _is_builtin(self, name: str) -> bool:
        return (name not in self.code and name not in self.imported) or name in self.deleted

    def _unit_escapes(
        self, unit: Unit, imports: bool = True
    ) -> Iterator[tuple[escapes.Escape, str, int]]:
        for attribute, line in unit.attributes.items():
            if attribute in escapes.ATTRIBUTES:
                yield escapes.ATTRIBUTES[attribute], f"reads {attribute}", line
        for text, line in unit.strings:
            match = escapes.ATTRIBUTE_IN_TEXT.search(text)
            if match:
                yield (
                    escapes.ATTRIBUTES[match.group(1)],
                    f"names {match.group(1)} in a string",
                    line,
                )
        for module, line in unit.imports if imports else ():
            escape = escapes.dotted_escape(module.lstrip("."))
            if escape is not None:
                yield escape, f"imports {quote(module)}", line
        for reference in unit.references:
            found = self._reference_escape(reference)
            if found is not None:
                yield found[0], found[1], reference.line

    def _reference_escape(self, reference: Reference) -> tuple[escapes.Escape, str] | None:
        for dotted in self.dotted(reference, self._escape_targets):
            escape = escapes.dotted_escape(dotted)
            if escape is not None:
                return escape, f"uses {quote(dotted)}"
        name, call = reference.name, reference.call
        if "__dict__" in reference.attributes and name in self.imported:
            return escapes.MODULE_DICT, f"uses {quote(name)}.__dict__"
        if not self._is_builtin(name):
            return None
        if name in LOOKUP_BUILTINS and call is None:
            return escapes.PASSED_AROUND, f"uses {name}"
        if call is not None and name != "vars":
            if call.attribute is None and call.target and call.target[0] in self.imported:
                module = quote(".".join(call.target))
                return escapes.LOOKUP_COMPUTED, f"calls {name} on the module {module}"
            return None
        on_module = call is not None and call.target and call.target[0] in self.imported
        if name == "vars" and call is not None and call.arguments and not on_module:
            return None  # vars(self)
        if name in escapes.BUILTINS:
            return escapes.BUILTINS[name], f"uses {name}"
        return None

    # -- one item -------------------------------------------------------------------------------


class _Groups:
    """Names that refer to the same object (union-find)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        root = name
        while root in self.parent:
            root = self.parent[root]
        while name != root:  # path compression keeps later look-ups short
            self.parent[name], name = root, self.parent[name]
        return root

    def union(self, first: str, second: str) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self.parent[a] = b
