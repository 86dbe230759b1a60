"""Which names a piece of a notebook's source reads from, or binds in, the notebook's globals.

Python's own scope analysis (:mod:`symtable`) knows, for each function, lambda, class body and
comprehension, whether a name is a parameter, a local, a free variable of an enclosing function
or a global. A walk over the :mod:`ast` enters each nested scope in the order the compiler
entered them, so each scope node is paired with its table by name and line.
"""

from __future__ import annotations

import symtable
from collections import deque
from dataclasses import dataclass, field


def module_scope(source: str, key: str) -> Scope:
    """The module scope of a cell's source (with no table if it cannot be analysed)."""
    try:
        table: symtable.SymbolTable | None = symtable.symtable(source, key, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        table = None
    return Scope(table, "module", load_time=True)


@dataclass
class Scope:
    """Where a node is: its symbol table (None when it could not be matched) and its kind."""

    table: symtable.SymbolTable | None
    kind: str  # "module", "class" or "function" (functions, lambdas, comprehensions)
    load_time: bool  # runs when the definitions load (not when a function is called)
    declared_global: set[str] = field(default_factory=set)
    children: dict[tuple[str, int], deque[symtable.SymbolTable]] | None = None

    def enter(self, name: str, line: int, kind: str, load_time: bool) -> Scope:
        """The scope of a node nested here (a ``def``, ``class``, lambda or comprehension
        named ``name`` on ``line``), entered in the order the compiler entered them."""
        return Scope(self._child(name, line, kind), kind, load_time)

    def _child(self, name: str, line: int, kind: str) -> symtable.SymbolTable | None:
        """The next nested table of that name and line (None if it cannot be matched: then
        every name read in it is taken for a global)."""
        if self.table is None:
            return None
        if self.children is None:
            self.children = {}
            for table in self.table.get_children():
                key = (table.get_name(), table.get_lineno())
                self.children.setdefault(key, deque()).append(table)
        tables = self.children.get((name, line))
        if not tables:
            return None
        table = tables.popleft()
        return table if table.get_type() == kind else None

    def is_global(self, name: str) -> bool:
        """Whether ``name`` read here may be the notebook's global of that name."""
        if self.kind == "module" or name in self.declared_global:
            return True
        if self.table is None:
            return True  # unknown scope: assume the worst
        try:
            symbol = self.table.lookup(name)
        except KeyError:
            return True
        if self.kind == "class":
            return not symbol.is_free()  # a class body falls back to globals for its own names
        return symbol.is_global()

    def is_class_local(self, name: str) -> bool:
        """Whether ``name`` is assigned in this class body (a class attribute)."""
        if self.kind != "class" or self.table is None:
            return False
        try:
            return self.table.lookup(name).is_assigned()
        except KeyError:
            return False

    def binds_global(self, name: str) -> bool:
        """Whether storing ``name`` here binds the notebook's global of that name."""
        if self.kind == "module" or name in self.declared_global:
            return True
        if self.table is None:
            return False
        try:
            return self.table.lookup(name).is_declared_global()
        except KeyError:
            return False
