"""No process-wide state between steps: no module of ``gradekit/`` keeps a registry of its own.

What grading keeps between notebooks (suite sessions, fork servers, gradings started ahead,
validated cells) belongs to a :class:`gradekit.nbgrader.runtime.Runtime` that is passed in. This
test reads every module's source (nothing is imported) and flags what would keep such state at
module or class level:

- at module level: an executor, lock or queue; an instance of a class of the same module that
  is not a frozen dataclass; a dict, list or set (or a ``functools`` cache) that the module
  changes (``.append``, ``.add``, ``[key] = ...``, ``del``, ``global``);
- in a class body (shared by every instance): a dict, list or set, an executor, lock or queue.

A table that is built once and only read (``_KINDS = {...}``) is a constant, not a registry.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gradekit"

#: Calls that make something mutable (containers) or something that is state by nature.
CONTAINERS = {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque"}
STATEFUL = {
    "ThreadPoolExecutor",
    "ProcessPoolExecutor",
    "Lock",
    "RLock",
    "Queue",
    "SimpleQueue",
    "WeakKeyDictionary",
    "WeakValueDictionary",
    "WeakSet",
}
CACHES = {"cache", "lru_cache"}
MUTATORS = {
    "append",
    "extend",
    "insert",
    "add",
    "update",
    "setdefault",
    "pop",
    "popitem",
    "clear",
    "remove",
    "discard",
}

#: Module-level state that is a fact of one process, never data passed between steps, with the
#: reason (``module:name``). Keep this short: anything else goes into the runtime.
ALLOWED = {
    # Set inside a confined student process, after the fork: the pipes to its own init, read
    # once by confine.started(). The grading side never has any.
    "gradekit/sandbox/confine.py:_STARTED": "the confined child's pipes to its init",
    # Which process ids already removed what dead processes left behind (once per process; a
    # fork counts anew): nothing is read from it but "done".
    "gradekit/sandbox/leftovers.py:_swept": "a process's one sweep of leftovers, done",
    # This process's id and start time, computed once (checked against os.getpid() by its
    # callers, so a fork computes its own).
    "gradekit/sandbox/leftovers.py:tag": "this process's tag",
    # Declares no array type: its per-process lookups stay empty (a 'no types' value).
    "gradekit/sandbox/declared.py:NO_ARRAY_TYPES": "an empty declaration",
}


def _name(node: ast.expr) -> str:
    """The last part of a called name: ``threading.Lock`` -> ``Lock``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):  # Queue[int]()
        return _name(node.value)
    return ""


def _mutable(value: ast.expr | None) -> bool:
    mutable_literals = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
    if isinstance(value, mutable_literals):
        return True
    return isinstance(value, ast.Call) and _name(value.func) in CONTAINERS


def _stateful(value: ast.expr | None) -> bool:
    return isinstance(value, ast.Call) and _name(value.func) in STATEFUL


def _frozen_dataclass(cls: ast.ClassDef) -> bool:
    return any(
        isinstance(decorator, ast.Call)
        and _name(decorator.func) == "dataclass"
        and any(k.arg == "frozen" and getattr(k.value, "value", False) for k in decorator.keywords)
        for decorator in cls.decorator_list
    )


def _assigned(node: ast.stmt) -> Iterator[tuple[str, ast.expr | None]]:
    """``(name, value)`` of each plain name an assignment statement binds."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                yield target.id, node.value
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        yield node.target.id, node.value


def _changed_names(tree: ast.Module) -> set[str]:
    """Names the module changes in place or rebinds from a function (``global``)."""
    changed = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            changed.update(node.names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in MUTATORS and isinstance(node.func.value, ast.Name):
                changed.add(node.func.value.id)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            if isinstance(node.value, ast.Name):
                changed.add(node.value.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            changed.add(node.target.id)
    return changed


def registries(
    path: Path, *, package: Path = PACKAGE, allowed: Collection[str] = ALLOWED
) -> list[str]:
    """What in ``path`` (a module of ``package``) keeps state at module or class level, but the
    ``allowed`` (``module:line: name: why``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    changed = _changed_names(tree)
    found = []
    for node in tree.body:
        for name, value in _assigned(node):
            if _stateful(value):
                found.append((node.lineno, name, "an executor, lock or queue of the module"))
            elif _mutable(value) and name in changed:
                found.append((node.lineno, name, "a container the module changes"))
            elif (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id in classes
                and not _frozen_dataclass(classes[value.func.id])
            ):
                found.append((node.lineno, name, f"a module-wide {value.func.id}"))
        if isinstance(node, ast.FunctionDef) and any(
            _name(d.func if isinstance(d, ast.Call) else d) in CACHES for d in node.decorator_list
        ):
            found.append((node.lineno, node.name, "a process-wide cache"))
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                for name, value in _assigned(statement):
                    if _mutable(value) or _stateful(value):
                        where = f"{node.name}.{name}"
                        found.append((statement.lineno, where, "shared by every instance"))
    relative = path.relative_to(package.parent).as_posix()
    return [
        f"{relative}:{line}: {name}: {why}"
        for line, name, why in found
        if f"{relative}:{name}" not in allowed
    ]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_no_module_keeps_a_registry():
    found = [line for path in MODULES for line in registries(path)]
    assert not found, "state that belongs to a runtime (gradekit.nbgrader.runtime):\n" + "\n".join(
        found
    )


def test_every_allowed_exception_still_exists():
    """An entry of ALLOWED whose state is gone must leave the list."""
    everything = {
        line.split(":")[0] + ":" + line.split(": ")[1]
        for path in MODULES
        for line in registries(path, allowed=())
    }
    assert set(ALLOWED) <= everything


@pytest.mark.parametrize(
    "source, flagged",
    [
        ("_SEEN: dict[str, int] = {}\ndef f(k):\n    _SEEN[k] = 1\n", "_SEEN"),
        ("import threading\n_LOCK = threading.Lock()\n", "_LOCK"),
        (
            "from concurrent.futures import ThreadPoolExecutor\n_POOL = ThreadPoolExecutor(1)\n",
            "_POOL",
        ),
        ("class C:\n    _all: dict = {}\n", "C._all"),
        ("class _S:\n    pass\n_s = _S()\n", "_s"),
        ("import functools\n@functools.cache\ndef f():\n    return 1\n", "f"),
        ("_KINDS = {'a': 1}\n", None),
        (
            "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass B:\n    x: int = 0\n"
            "NONE = B()\n",
            None,
        ),
    ],
    ids=[
        "changed-dict",
        "lock",
        "executor",
        "class-dict",
        "own-instance",
        "cache",
        "table",
        "frozen-value",
    ],
)
def test_the_check_sees_a_registry(tmp_path, source, flagged):
    module = tmp_path / "gradekit" / "m.py"
    module.parent.mkdir()
    module.write_text(source)
    names = [line.split(": ")[1] for line in registries(module, package=module.parent)]
    assert names == ([flagged] if flagged else [])
