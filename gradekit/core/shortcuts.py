"""Forbidden shortcuts in a submission's definitions, found in their source (read, never run).

A course declares what an item may not use — :class:`Rules`: modules (a deep-learning library
for items written from scratch), strings that name its reference or its graders, and kinds of
dynamic escape (:mod:`gradekit.core.escapes`) — and which names a grade cell grades.
:meth:`Definitions.shortcuts` follows those names through the notebook and lists every forbidden
use, each a sentence the student can act on (:class:`Shortcut`).

How a graded name is followed:

- Only what the grading worker runs is read: each cell's definitions as the loading rule keeps
  them for the notebook's graded names (:func:`gradekit.core.notebook.definition_cells`; test cells,
  top-level work nothing graded needs and syntax errors never run there).
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

Not seen: modules a submission brings next to its notebook, attributes looked up by a computed
name on objects that are not modules, objects changed through a call's result by a function run
at load time, and escapes that allowed libraries offer themselves. Whatever runs the checks
must not rely on the scan alone for those.

The cost is linear in the source: each cell is parsed and its scopes analysed once
(:func:`read_definitions`), and each item's names are followed in one breadth-first walk that
visits every statement and name at most once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from gradekit.core import escapes
from gradekit.core.bindings import cell_units
from gradekit.core.name_index import DottedNames, NameIndex, quote
from gradekit.core.notebook import Notebook, definition_cells


@dataclass(frozen=True)
class Rule:
    """One thing an item may not use, and the sentence of the assignment's rule it breaks.

    Attributes:
        target: A module with its submodules (``pkg``, ``pkg.sub``), or a text
            that may not appear in a string (the reference package's name).
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
        escapes: Kinds of dynamic escape that are forbidden
        (:data:`gradekit.core.escapes.ALL_KINDS`). escape_sentence: The rule a forbidden escape
        breaks.
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
        what: What is used (``uses pkg.relu``, ``uses eval, which runs code from a string``).
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


def read_definitions(notebook: Notebook, needed: Iterable[str] | None = None) -> Definitions:
    """The notebook's definitions as the grading worker runs them, analysed once.

    Args:
        notebook: The submission.
        needed: The names the worker's checks use (the graded names of the notebook's cells),
            as the worker is given them (:func:`gradekit.core.notebook.definition_cells`).
    """
    units = [
        unit
        for cell in definition_cells(notebook, needed)
        if cell.syntax_error is None
        for unit in cell_units(cell.key, cell.source)
    ]
    return Definitions(units)


class Definitions(NameIndex):
    """A notebook's definitions, analysed once, to be searched for each item's shortcuts."""

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
        self.modules = DottedNames(rule.target for rule in rules.modules)
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
        """A graded name that is itself imported (``from pkg import relu``)."""
        definitions = self.definitions
        places = dict(definitions.imported.get(name, {}))
        places |= {f"{star}.{name}": place for star, place in definitions.stars.items()}
        for dotted, (index, line) in places.items():
            module = self.modules.match(dotted)
            if module is not None:
                self._add(name, f"is {quote(dotted)}", index, line, (), self.sentences[module])
            escape = escapes.dotted_escape(dotted)
            if escape is not None and escape.kind in self.rules.escapes:
                what = f"is {quote(dotted)}, which {escape.does}"
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
                uses.append((line, f"imports {quote(module)}", self.sentences[matched]))
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
                    uses.append((reference.line, f"uses {quote(dotted)}", self.sentences[matched]))
            self._follow(reference.name, root, _longer(via, reference.name))
        for line, what, rule in sorted(uses, key=lambda use: use[0]):
            self._add(root, what, index, line, via, rule)

    def _add(
        self, root: str, what: str, index: int, line: int, via: tuple[str, ...], rule: str
    ) -> None:
        cell = quote(self.definitions.units[index].cell)
        if (what, f"{line} {cell}") not in self.found:
            self.found[(what, f"{line} {cell}")] = Shortcut(root, what, line, cell, rule, via)


def _longer(via: tuple[str, ...], name: str, limit: int = 3) -> tuple[str, ...]:
    """``via`` and ``name``, kept to ``limit`` names and an ellipsis (constant size)."""
    if len(via) < limit:
        return (*via, quote(name))
    return via if len(via) > limit else (*via, "…")
