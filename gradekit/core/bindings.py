"""What each top-level statement of a notebook's definitions binds, reads, imports and changes.

The source is read, never run. :mod:`gradekit.core.scopes` (Python's own scope analysis) decides
which names in a function, lambda, class body or comprehension are the notebook's globals (a
parameter, a local variable or a comprehension variable named ``nn`` is not the module ``nn``);
:mod:`ast` gives the nodes, their lines and the attributes read after a name (``F.relu``).
Nothing here knows what is forbidden: :mod:`gradekit.core.shortcuts` judges the facts by a course's
rules.

Each top-level statement (and the header of a compound statement: ``for x in ...``,
``with ... as x``, ``except E as x``) is one :class:`Unit`. Code that runs when the definitions
load (module level, class bodies, decorators, default values, base classes, annotations of
parameters) is told apart from code that runs when a function is called, because the graders
replace some names by reference versions only while they call the student's code.

The walk is iterative and visits each node once: its cost is linear in the source size.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from typing import Any

from gradekit.core.scopes import Scope, module_scope
from gradekit.core.units import LOOKUP_BUILTINS, Call, Reference, Unit

_CHANGING_BUILTINS = frozenset({"setattr", "delattr"})
_SCOPE_NAMES = {
    ast.ListComp: "listcomp",
    ast.SetComp: "setcomp",
    ast.DictComp: "dictcomp",
    ast.GeneratorExp: "genexpr",
    ast.Lambda: "lambda",
}
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def cell_units(key: str, source: str) -> list[Unit]:
    """The units of one cell's definitions (none if the source does not parse).

    Args:
        key: The cell's readable key, used in messages.
        source: The Python source the grading worker runs for this cell.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    module = module_scope(source, key)
    units: list[Unit] = []
    pending: list[ast.stmt] = list(reversed(tree.body))
    while pending:
        statement = pending.pop()
        blocks, header = _compound_parts(statement)
        if blocks is None:
            unit = Unit(key, statement.lineno, _label(statement))
            _Walker(unit, module).walk([statement])
            units.append(unit)
            continue
        if header:
            unit = Unit(key, statement.lineno, "the statement")
            _Walker(unit, module).walk(header)
            units.append(unit)
        pending.extend(reversed(blocks))
    return units


def _compound_parts(statement: ast.stmt) -> tuple[list[ast.stmt] | None, list[ast.AST]]:
    """For a compound statement at module level: its inner statements, and its header nodes
    (the expressions and handlers evaluated in module scope). ``None`` for other statements."""
    if isinstance(statement, ast.If | ast.While):
        return statement.body + statement.orelse, [statement.test]
    if isinstance(statement, ast.For | ast.AsyncFor):
        return statement.body + statement.orelse, [statement.target, statement.iter]
    if isinstance(statement, ast.With | ast.AsyncWith):
        return statement.body, list(statement.items)
    if isinstance(statement, ast.Try | ast.TryStar):
        inner = statement.body + statement.orelse + statement.finalbody
        inner += [stmt for handler in statement.handlers for stmt in handler.body]
        handlers = [
            ast.copy_location(ast.ExceptHandler(type=h.type, name=h.name, body=[]), h)
            for h in statement.handlers
            if isinstance(h, ast.ExceptHandler)
        ]
        return inner, list(handlers)
    if isinstance(statement, ast.Match):
        cases = statement.cases
        header: list[ast.AST] = [statement.subject]
        header += [part for case in cases for part in (case.pattern, case.guard) if part]
        return [stmt for case in cases for stmt in case.body], header
    return None, []


def _label(statement: ast.stmt) -> str:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        return f"def {statement.name}"
    if isinstance(statement, ast.ClassDef):
        return f"class {statement.name}"
    return "the statement"


class _Enter:
    """A marker on the walk's stack: enter the body of a scope node here."""

    def __init__(self, node: ast.AST, parts: Iterable[ast.AST], kind: str, load_time: bool):
        self.node, self.parts, self.kind, self.load_time = node, list(parts), kind, load_time


class _Walker:
    """Records the facts of one unit (an explicit stack: deep nesting cannot overflow it)."""

    def __init__(self, unit: Unit, module: Scope):
        self.unit = unit
        self.module = module

    def walk(self, roots: list[ast.AST]) -> None:
        stack: list[tuple[ast.AST | _Enter, Scope]] = [(n, self.module) for n in reversed(roots)]
        while stack:
            node, scope = stack.pop()
            if isinstance(node, _Enter):
                inner = self._enter(node, scope)
                stack.extend((part, inner) for part in reversed(node.parts))
                continue
            children = self._visit(node, scope)
            stack.extend((child, scope) for child in reversed(children))

    def _enter(self, marker: _Enter, scope: Scope) -> Scope:
        node = marker.node
        name = getattr(node, "name", None) or _SCOPE_NAMES.get(type(node), "")
        return scope.enter(name, getattr(node, "lineno", 0), marker.kind, marker.load_time)

    def _visit(self, node: ast.AST, scope: Scope) -> list[ast.AST | _Enter]:
        """Record what ``node`` itself tells; return what to visit next in the same scope."""
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            following = handler(self, node, scope)
            if following is not None:
                return following
        return _children(node)

    def _class(self, node: ast.ClassDef, scope: Scope) -> list[ast.AST | _Enter]:
        self._bind(node.name, None, scope)
        body = _Enter(node, node.body, "class", scope.load_time)
        return [*node.bases, *node.keywords, *node.decorator_list, body]

    def _global(self, node: ast.Global, scope: Scope) -> None:
        scope.declared_global.update(node.names)

    def _subscript(self, node: ast.Subscript, scope: Scope) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._changed(node.value, scope)

    def _assign(self, node: ast.Assign, scope: Scope) -> None:
        self._aliases(node.targets, node.value, scope)

    def _annotated(self, node: ast.AnnAssign, scope: Scope) -> list[ast.AST | _Enter] | None:
        if scope.kind == "function":  # a local variable's annotation is never evaluated
            return [part for part in (node.target, node.value) if part]
        return None

    def _constant(self, node: ast.Constant, scope: Scope) -> list[ast.AST | _Enter]:
        value = node.value
        if isinstance(value, str | bytes):
            text = value if isinstance(value, str) else value.decode("latin-1")
            self.unit.strings.append((text, node.lineno))
        return []

    def _captured(self, node: ast.AST, scope: Scope) -> None:
        """``except E as name``, ``case [*name]``, ``case {**name}``, ``case x as name``."""
        name = getattr(node, "rest", None) or getattr(node, "name", None)
        if isinstance(name, str):
            self._bind(name, None, scope)

    def _function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, scope: Scope
    ) -> list[ast.AST | _Enter]:
        # The order of the compiler's symbol table: defaults, annotations, decorators, body.
        arguments = node.args
        outer: list[ast.AST | _Enter] = [*arguments.defaults]
        outer += [default for default in arguments.kw_defaults if default is not None]
        if isinstance(node, ast.Lambda):
            return [*outer, _Enter(node, [node.body], "function", load_time=False)]
        self._bind(node.name, None, scope)
        every = [*arguments.posonlyargs, *arguments.args, arguments.vararg]
        every += [*arguments.kwonlyargs, arguments.kwarg]
        outer += [arg.annotation for arg in every if arg is not None and arg.annotation]
        outer += [node.returns] if node.returns else []
        outer += node.decorator_list
        return [*outer, _Enter(node, node.body, "function", load_time=False)]

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp, scope: Scope
    ) -> list[ast.AST | _Enter]:
        first, *others = node.generators
        inner: list[ast.AST] = [first.target, *first.ifs]
        for generator in others:
            inner += [generator.target, generator.iter, *generator.ifs]
        inner += [node.value, node.key] if isinstance(node, ast.DictComp) else [node.elt]
        return [first.iter, _Enter(node, inner, "function", scope.load_time)]

    def _bind(self, name: str, dotted: str | None, scope: Scope) -> None:
        if scope.binds_global(name):
            self.unit.binds.append((name, dotted))

    def _import(self, node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        line = node.lineno
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.unit.imports.append((alias.name, line))
                bound = alias.asname or alias.name.split(".")[0]
                self._bind(bound, alias.name if alias.asname else bound, scope)
            return
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                self.unit.imports.append((module, line))
                self.unit.star_imports.append((module, line))
                continue
            self.unit.imports.append((f"{module}.{alias.name}", line))
            self._bind(alias.asname or alias.name, f"{module}.{alias.name}", scope)

    def _name(self, node: ast.Name, scope: Scope) -> list[ast.AST | _Enter]:
        if isinstance(node.ctx, ast.Store):
            self._bind(node.id, None, scope)
            return []
        if isinstance(node.ctx, ast.Del) and scope.binds_global(node.id):
            self.unit.deletes.add(node.id)
        if scope.is_global(node.id):
            self.unit.references.append(Reference(node.id, (), node.lineno, scope.load_time))
        return []

    def _attribute(self, node: ast.Attribute, scope: Scope) -> list[ast.AST | _Enter]:
        """A chain ``a.b.c``: one reference to ``a`` with its attributes, visited at once."""
        line = node.lineno
        attributes = []
        base: ast.expr = node
        while isinstance(base, ast.Attribute):
            attributes.append(base.attr)
            self.unit.attributes.setdefault(base.attr, line)
            base = base.value
        attributes.reverse()
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._changed(node.value, scope)
        if isinstance(base, ast.Name) and scope.is_global(base.id):
            reference = Reference(base.id, tuple(attributes), line, scope.load_time)
            self.unit.references.append(reference)
            return []
        return [base]

    def _changed(self, target: ast.expr, scope: Scope) -> None:
        """``target`` (the object before ``.attr =`` or ``[key] =``) is changed."""
        root = _root(target)
        if isinstance(root, ast.Name):
            if scope.is_global(root.id) and not scope.is_class_local(root.id):
                self.unit.changes.add(root.id)
        elif scope.load_time:
            self.unit.changes_unknown_object = True

    def _call(self, node: ast.Call, scope: Scope) -> list[ast.AST | _Enter]:
        function = node.func
        children = _children(node)
        if isinstance(function, ast.Name) and scope.is_global(function.id):
            if function.id in _CHANGING_BUILTINS and node.args:
                self._changed(node.args[0], scope)
            if function.id in LOOKUP_BUILTINS:
                self._lookup(node, function.id, scope, node.lineno)
                children.remove(function)  # its reference carries the call's details
        elif isinstance(function, ast.Attribute):
            root = _root(function.value)
            if isinstance(root, ast.Name) and scope.is_global(root.id):
                self.unit.calls_methods_of.add(root.id)
        return children

    def _lookup(self, node: ast.Call, name: str, scope: Scope, line: int) -> None:
        """``getattr(x.y, "z")``: the call's details, and a reference to ``x.y.z`` when the
        name is a constant (it reads that attribute as ``x.y.z`` would)."""
        target = _chain(node.args[0]) if node.args else None
        if target is not None and not scope.is_global(target[0]):
            target = None
        attribute = None
        if len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
            value = node.args[1].value
            attribute = value if isinstance(value, str) else None
        call = Call(len(node.args), target, attribute)
        self.unit.references.append(Reference(name, (), line, scope.load_time, call))
        if target is not None and attribute is not None:
            self.unit.attributes.setdefault(attribute, line)
            chained = Reference(target[0], (*target[1:], attribute), line, scope.load_time)
            self.unit.references.append(chained)

    def _aliases(self, targets: list[ast.expr], value: ast.expr, scope: Scope) -> None:
        """``a = b`` or ``a = [b, c.d]``: ``a`` refers to (or holds) the objects of b and c."""
        names = [t.id for t in targets if isinstance(t, ast.Name) and scope.binds_global(t.id)]
        values = value.elts if isinstance(value, ast.Tuple | ast.List | ast.Set) else [value]
        if isinstance(value, ast.Dict):
            values = list(value.values)
        roots = [_root(item) for item in values if item is not None]
        held = [r.id for r in roots if isinstance(r, ast.Name) and scope.is_global(r.id)]
        self.unit.aliases += [(name, root) for name in names for root in held]


def _children(node: ast.AST) -> list[ast.AST | _Enter]:
    """The nodes directly inside ``node`` that can hold names or scopes (no contexts or
    operators), in the order of its fields."""
    children: list[ast.AST | _Enter] = []
    for name in _CHILD_FIELDS.get(type(node), ()):
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            children.append(value)
        elif isinstance(value, list):
            children += [item for item in value if isinstance(item, ast.AST)]
    return children


#: The fields of each kind of node that can hold other nodes worth visiting.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {
    kind: tuple(name for name in kind._fields if name not in ("ctx", "op", "ops"))
    for kind in vars(ast).values()
    if isinstance(kind, type) and issubclass(kind, ast.AST)
}


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node


def _chain(node: ast.expr) -> tuple[str, ...] | None:
    """``("a", "b", "c")`` for the expression ``a.b.c``; None for anything else."""
    attributes = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return (node.id, *reversed(attributes))


_HANDLERS: dict[type, Callable[[_Walker, Any, Scope], list[ast.AST | _Enter] | None]] = {
    ast.FunctionDef: _Walker._function,
    ast.AsyncFunctionDef: _Walker._function,
    ast.Lambda: _Walker._function,
    ast.ClassDef: _Walker._class,
    **dict.fromkeys(_COMPREHENSIONS, _Walker._comprehension),
    ast.Global: _Walker._global,
    ast.Import: _Walker._import,
    ast.ImportFrom: _Walker._import,
    ast.Name: _Walker._name,
    ast.Attribute: _Walker._attribute,
    ast.Subscript: _Walker._subscript,
    ast.Call: _Walker._call,
    ast.Assign: _Walker._assign,
    ast.AnnAssign: _Walker._annotated,
    ast.Constant: _Walker._constant,
    ast.ExceptHandler: _Walker._captured,
    ast.MatchAs: _Walker._captured,
    ast.MatchStar: _Walker._captured,
    ast.MatchMapping: _Walker._captured,
}
