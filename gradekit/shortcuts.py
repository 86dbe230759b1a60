"""Forbidden shortcuts in a submission's definitions, found in their source (read, never run).

A course declares what an item may not use — :class:`Rules`: modules (a deep-learning library
for items written from scratch), strings that name its reference or its graders, and kinds of
dynamic escape (:mod:`gradekit.escapes`) — and which names a grade cell grades.
:meth:`Definitions.shortcuts` follows those names through the notebook and lists every forbidden
use, each a sentence the student can act on (:class:`Shortcut`).

How a graded name is followed:

- Only what the grading worker runs is read: each cell's definitions
  (:func:`gradekit.notebook.definition_cells`; test cells, top-level work and syntax errors
  never run there).
- The checks call the graded names after every cell has loaded, and a global name is looked up
  when the code runs, so *every* binding of a name in any cell counts, before or after the
  graded cell. A later re-binding cannot hide an earlier forbidden one: both are followed.
- Bindings: ``import``, ``def``, ``class``, every form of assignment, ``for``/``with``/``except``
  targets, stores to names declared ``global`` in a function, and changes to the object a name
  refers to (``np.tanh = ...``, ``TABLE[k] = ...``, ``setattr(Net, ...)``, method calls on a data
  object), which count for every name that refers to the same object (``table = TABLE``).
- In functions, lambdas and comprehensions only the names :mod:`symtable` reports as global are
  followed: a parameter, local or comprehension variable named like a module is not the module;
  ``self.nn`` is an attribute. A class body also reads its own names as globals (a class
  attribute named like a module may still be read before it is assigned).
- Everything a followed definition contains is read: decorators, default values, base classes,
  annotations, class attributes, lambdas, nested functions.
- ``from m import *`` may bind any name: every name also resolves to ``m.<name>``. Code that
  rebinds names dynamically (``globals()``, ``sys.modules``, frames…) or changes at load time an
  object it got from a call may change any name: it is followed from every graded name.
- Names in ``replaced`` are not followed where they are read while a function runs (the graders
  put their reference versions there during each call), but are where they are read when the
  definitions load: a class attribute, default value or alias keeps the student's version.

The cost is linear in the source: each cell is parsed and its scopes analysed once
(:func:`read_definitions`), and each item's names are followed in one breadth-first walk that
visits every statement and name at most once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gradekit import escapes
from gradekit.bindings import LOOKUP_BUILTINS, Reference, Unit, cell_units
from gradekit.notebook import Notebook, definition_cells

#: Longest student-chosen text (a name, a dotted path, a cell's id) quoted in a message.
QUOTE_LIMIT = 60


@dataclass(frozen=True)
class Rule:
    """One thing an item may not use, and the sentence of the assignment's rule it breaks.

    Attributes:
        target: A module with its submodules (``torch``, ``sklearn.neural_network``), or a text
            that may not appear in a string (``reference_impl``).
        sentence: The rule, as the release states it (``from-scratch items are written with
            NumPy``).
    """

    target: str
    sentence: str


@dataclass(frozen=True)
class Rules:
    """What one item may not use.

    Attributes:
        modules: Forbidden modules.
        strings: Forbidden texts in string constants.
        escapes: Kinds of dynamic escape that are forbidden (:data:`gradekit.escapes.ALL_KINDS`).
        escape_sentence: The rule a forbidden escape breaks.
    """

    modules: tuple[Rule, ...] = ()
    strings: tuple[Rule, ...] = ()
    escapes: frozenset[str] = frozenset()
    escape_sentence: str = "the item may not load code, files or names dynamically"


@dataclass(frozen=True)
class Shortcut:
    """One forbidden use, located for the student.

    Attributes:
        name: The graded name whose definitions lead to it.
        what: What is used (``uses torch.relu``, ``uses eval, which runs code from a string``).
        line: Its line in its cell.
        cell: The cell (``cell 14 'activation_functions'``).
        rule: The sentence of the rule it breaks.
        via: The names followed from ``name`` to get there (empty: in its own definition).
    """

    name: str
    what: str
    line: int
    cell: str
    rule: str
    via: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"line {self.line} of {self.cell}"

    def __str__(self) -> str:
        return f"{self._part()} ({self.where}): {self.rule}"

    def _part(self) -> str:
        through = f" through {', '.join(self.via)}" if self.via else ""
        return f"{self.name} {self.what}{through}"


def describe(found: list[Shortcut], limit: int = 3) -> str:
    """The findings as one message: uses that differ only in their line are said once, a rule
    once after the uses that break it, at most ``limit`` uses, and how many more there are."""
    lines: dict[tuple[str, str, str], list[int]] = {}
    first: dict[tuple[str, str, str], Shortcut] = {}
    for shortcut in found:
        key = (shortcut._part(), shortcut.cell, shortcut.rule)
        lines.setdefault(key, []).append(shortcut.line)
        first.setdefault(key, shortcut)
    keys = list(lines)
    parts: list[str] = []
    for index, key in enumerate(keys[:limit]):
        part, cell, rule = key
        numbers = sorted(set(lines[key]))
        where = f"line {numbers[0]}" if len(numbers) == 1 else f"lines {_numbers(numbers)}"
        text = f"{part} ({where} of {cell})"
        last_of_rule = index + 1 == min(limit, len(keys)) or keys[index + 1][2] != rule
        parts.append(f"{text}: {rule}" if last_of_rule else text)
    more = len(keys) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _numbers(numbers: list[int], limit: int = 5) -> str:
    shown = ", ".join(map(str, numbers[:limit]))
    return shown + ("…" if len(numbers) > limit else "")


def read_definitions(notebook: Notebook) -> Definitions:
    """The notebook's definitions as the grading worker runs them, analysed once."""
    units = [
        unit
        for cell in definition_cells(notebook)
        if cell.syntax_error is None
        for unit in cell_units(cell.key, cell.source)
    ]
    return Definitions(units)


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


class _Targets:
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


class Definitions:
    """A notebook's definitions, analysed once, to be searched for each item's shortcuts."""

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
        self._escape_targets = _Targets(escapes.TARGETS)
        self._relevant: dict[tuple[frozenset[str], str], list[str]] = {}
        self._relevant_stars: dict[frozenset[str], list[str]] = {}
        self.escapes = [list(self._unit_escapes(unit)) for unit in units]
        self.wildcards = [
            index
            for index, unit in enumerate(units)
            if unit.changes_unknown_object or any(e.rebinds for e, _, _ in self.escapes[index])
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

    def dotted(self, reference: Reference, targets: _Targets) -> Iterator[str]:
        """The dotted names ``reference`` may stand for that can matter for ``targets``."""
        name, tail = reference.name, "".join(f".{attr}" for attr in reference.attributes)
        key = (targets.targets, name)
        if key not in self._relevant:
            if targets.targets not in self._relevant_stars:
                # A star import matters if it is at or under a target (one is enough), or above
                # one (``from sklearn import *`` and ``sklearn.neural_network``).
                self._relevant_stars[targets.targets] = targets.relevant(list(self.stars))
            modules = targets.relevant(list(self.imported.get(name, {})))
            stars = [f"{star}.{name}" for star in self._relevant_stars[targets.targets]]
            self._relevant[key] = modules + stars
        for dotted in self._relevant[key]:
            yield dotted + tail

    def _is_builtin(self, name: str) -> bool:
        return (name not in self.code and name not in self.imported) or name in self.deleted

    def _unit_escapes(self, unit: Unit) -> Iterator[tuple[escapes.Escape, str, int]]:
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
        for module, line in unit.imports:
            escape = escapes.dotted_escape(module.lstrip("."))
            if escape is not None:
                yield escape, f"imports {_quote(module)}", line
        for reference in unit.references:
            found = self._reference_escape(reference)
            if found is not None:
                yield found[0], found[1], reference.line

    def _reference_escape(self, reference: Reference) -> tuple[escapes.Escape, str] | None:
        for dotted in self.dotted(reference, self._escape_targets):
            escape = escapes.dotted_escape(dotted)
            if escape is not None:
                return escape, f"uses {_quote(dotted)}"
        name, call = reference.name, reference.call
        if "__dict__" in reference.attributes and name in self.imported:
            return escapes.MODULE_DICT, f"uses {_quote(name)}.__dict__"
        if not self._is_builtin(name):
            return None
        if name in LOOKUP_BUILTINS and call is None:
            return escapes.PASSED_AROUND, f"uses {name}"
        if call is not None and name != "vars":
            if call.attribute is None and call.target and call.target[0] in self.imported:
                module = _quote(".".join(call.target))
                return escapes.LOOKUP_COMPUTED, f"calls {name} on the module {module}"
            return None
        on_module = call is not None and call.target and call.target[0] in self.imported
        if name == "vars" and call is not None and call.arguments and not on_module:
            return None  # vars(self)
        if name in escapes.BUILTINS:
            return escapes.BUILTINS[name], f"uses {name}"
        return None

    # -- one item -------------------------------------------------------------------------------

    def shortcuts(
        self, names: Iterable[str], rules: Rules, replaced: Iterable[str] = ()
    ) -> list[Shortcut]:
        """Every forbidden use in the definitions of ``names`` and in what they use.

        Args:
            names: The graded names of the item.
            rules: What the item may not use.
            replaced: Names the graders replace by their reference versions while they call the
                item (not followed where read inside a function).
        """
        graded = [names] if isinstance(names, str) else list(names)
        return _Search(self, rules, frozenset(replaced)).run(graded)


class _Search:
    """One breadth-first walk from an item's graded names."""

    def __init__(self, definitions: Definitions, rules: Rules, replaced: frozenset[str]):
        self.definitions = definitions
        self.rules = rules
        self.replaced = replaced
        self.modules = _Targets(rule.target for rule in rules.modules)
        self.sentences = {rule.target: rule.sentence for rule in rules.modules}
        self.found: dict[tuple[str, str], Shortcut] = {}
        self.queue: deque[tuple[int, str, tuple[str, ...]]] = deque()
        self.seen_units: set[int] = set()
        self.seen_names: set[str] = set()

    def run(self, names: list[str]) -> list[Shortcut]:
        for name in names:
            self._imported_root(name)
            self._follow(name, name, ())
        # Code that can rebind any name is followed from every graded name, after the paths
        # that name it (so that a finding says the shorter way it is reached).
        self._walk()
        for index in self.definitions.wildcards:
            unit = self.definitions.units[index]
            via = (f"{unit.label}, which can rebind any name",)
            self._enqueue(index, names[0] if names else "", via)
        self._walk()
        return list(self.found.values())

    def _walk(self) -> None:
        while self.queue:
            index, root, via = self.queue.popleft()
            self._unit(index, root, via)

    def _imported_root(self, name: str) -> None:
        """A graded name that is itself imported (``from torch import relu``)."""
        definitions = self.definitions
        places = dict(definitions.imported.get(name, {}))
        places |= {f"{star}.{name}": place for star, place in definitions.stars.items()}
        for dotted, (index, line) in places.items():
            module = self.modules.match(dotted)
            if module is not None:
                self._add(name, f"is {_quote(dotted)}", index, line, (), self.sentences[module])
            escape = escapes.dotted_escape(dotted)
            if escape is not None and escape.kind in self.rules.escapes:
                what = f"is {_quote(dotted)}, which {escape.does}"
                self._add(name, what, index, line, (), self.rules.escape_sentence)

    def _follow(self, name: str, root: str, via: tuple[str, ...]) -> None:
        if name in self.seen_names:
            return
        self.seen_names.add(name)
        definitions = self.definitions
        for index in definitions.code.get(name, {}):
            self._enqueue(index, root, via)
        for index in definitions.changed_by.get(definitions.groups.find(name), {}):
            self._enqueue(index, root, via)

    def _enqueue(self, index: int, root: str, via: tuple[str, ...]) -> None:
        if index not in self.seen_units:
            self.seen_units.add(index)
            self.queue.append((index, root, via))

    def _unit(self, index: int, root: str, via: tuple[str, ...]) -> None:
        unit = self.definitions.units[index]
        rules = self.rules
        uses: list[tuple[int, str, str]] = []  # line, what, rule
        for escape, what, line in self.definitions.escapes[index]:
            if escape.kind in rules.escapes:
                uses.append((line, f"{what}, which {escape.does}", rules.escape_sentence))
        for module, line in unit.imports:
            matched = self.modules.match(module)
            if matched is not None:
                uses.append((line, f"imports {_quote(module)}", self.sentences[matched]))
        for text, line in unit.strings:
            uses += [
                (line, f"names {rule.target} in a string", rule.sentence)
                for rule in rules.strings
                if rule.target in text
            ]
        for reference in unit.references:
            if reference.name in self.replaced and not reference.load_time:
                continue
            for dotted in self.definitions.dotted(reference, self.modules):
                matched = self.modules.match(dotted)
                if matched is not None:
                    uses.append((reference.line, f"uses {_quote(dotted)}", self.sentences[matched]))
            self._follow(reference.name, root, _longer(via, reference.name))
        for line, what, rule in sorted(uses, key=lambda use: use[0]):
            self._add(root, what, index, line, via, rule)

    def _add(
        self, root: str, what: str, index: int, line: int, via: tuple[str, ...], rule: str
    ) -> None:
        cell = _quote(self.definitions.units[index].cell)
        if (what, f"{line} {cell}") not in self.found:
            self.found[(what, f"{line} {cell}")] = Shortcut(root, what, line, cell, rule, via)


def _longer(via: tuple[str, ...], name: str, limit: int = 3) -> tuple[str, ...]:
    """``via`` and ``name``, kept to ``limit`` names and an ellipsis (constant size)."""
    if len(via) < limit:
        return (*via, _quote(name))
    return via if len(via) > limit else (*via, "…")


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
