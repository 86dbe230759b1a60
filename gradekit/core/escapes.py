"""Dynamic escapes: ways code can reach what it never names, which a source scan cannot follow.

Each escape has a kind, so that a course can forbid some kinds in some items (an item written
with a deep-learning library may look a layer up by name, an item written from scratch may not),
and a phrase saying what it does, for the message a student reads. ``rebinds`` marks escapes
that can change the notebook's names or modules behind the scan's back; code using one of them
is followed from every graded name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CODE = "code"  # runs, imports or builds code chosen while it runs
FILES = "files"  # reads files
NAMESPACES = "namespaces"  # fetches or changes names through a namespace's dictionary
LOOKUP = "lookup"  # looks an attribute of a module up by a computed name
INTROSPECTION = "introspection"  # walks from objects to code, frames, memory, the collector
ALL_KINDS = frozenset({CODE, FILES, NAMESPACES, LOOKUP, INTROSPECTION})


@dataclass(frozen=True)
class Escape:
    """One kind of dynamic escape.

    Attributes:
        kind: One of :data:`ALL_KINDS`.
        does: What it does, completing "X, which ..." (``runs code from a string``).
        rebinds: Whether it can change names or modules the scan resolves.
    """

    kind: str
    does: str
    rebinds: bool = True


_RUNS_STRING = Escape(CODE, "runs code from a string")
_NAMESPACE = Escape(NAMESPACES, "hands out a namespace's names as a dictionary")
_READS_FILES = Escape(FILES, "reads files", rebinds=False)
_RUNS_PROGRAMS = Escape(CODE, "runs other programs", rebinds=False)
_LOOKS_UP = Escape(LOOKUP, "looks attributes up by name", rebinds=False)
_WALKS = Escape(INTROSPECTION, "walks from an object to code, frames or namespaces")

#: Built-in functions (and module-level dunders) that are escapes wherever they are used.
BUILTINS: dict[str, Escape] = {
    "eval": _RUNS_STRING,
    "exec": _RUNS_STRING,
    "compile": Escape(CODE, "turns a string into code"),
    "__import__": Escape(CODE, "imports a module by name", rebinds=False),
    "breakpoint": Escape(CODE, "starts a debugger"),
    "open": _READS_FILES,
    "globals": _NAMESPACE,
    "locals": _NAMESPACE,
    "vars": _NAMESPACE,
    "__builtins__": _NAMESPACE,
    "__loader__": Escape(CODE, "loads modules by name", rebinds=False),
}
#: ``vars(x)`` is an escape on a module or without argument; ``vars(self)`` is not.
#: ``getattr(m, name)`` is one on a module with a computed name; these are passed around as
#: values only to look names up in a way the source does not show.
PASSED_AROUND = Escape(LOOKUP, "is passed around, so what it looks up cannot be read")
LOOKUP_COMPUTED = Escape(LOOKUP, "looks its attributes up by a computed name", rebinds=False)

#: Modules every use of which is an escape.
MODULES: dict[str, Escape] = {
    "importlib": Escape(CODE, "imports modules by name", rebinds=False),
    "pkgutil": Escape(CODE, "finds and imports modules by name", rebinds=False),
    "zipimport": Escape(CODE, "imports modules from archives", rebinds=False),
    "runpy": Escape(CODE, "runs modules by name"),
    "code": _RUNS_STRING,
    "codeop": Escape(CODE, "turns a string into code"),
    "pickle": Escape(CODE, "builds objects, and calls functions, from bytes"),
    "marshal": Escape(CODE, "builds code from bytes"),
    "subprocess": _RUNS_PROGRAMS,
    "multiprocessing": Escape(CODE, "runs code in other processes", rebinds=False),
    "io": _READS_FILES,
    "pathlib": _READS_FILES,
    "shutil": _READS_FILES,
    "gc": Escape(INTROSPECTION, "digs objects out of the garbage collector"),
    "ctypes": Escape(INTROSPECTION, "reads and writes memory directly"),
    "inspect": Escape(INTROSPECTION, "walks stack frames and source code"),
}
_EXEC = ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")
_OS_RUNNING_PROGRAMS: tuple[str, ...] = (
    "system",
    "popen",
    "fork",
    "forkpty",
    "posix_spawn",
    "posix_spawnp",
)
_OS_RUNNING_PROGRAMS += tuple(f"{call}{end}" for call in ("exec", "spawn") for end in _EXEC)
#: Attributes of modules that are escapes (``sys.modules``), by their dotted name.
QUALIFIED: dict[str, Escape] = {
    "sys.modules": Escape(NAMESPACES, "looks loaded modules up by name"),
    "sys._getframe": Escape(INTROSPECTION, "walks stack frames"),
    "sys.settrace": Escape(INTROSPECTION, "watches other code run"),
    "sys.setprofile": Escape(INTROSPECTION, "watches other code run"),
    "sys.meta_path": Escape(CODE, "changes how modules are imported"),
    "sys.path_hooks": Escape(CODE, "changes how modules are imported"),
    "typing.get_type_hints": Escape(CODE, "evaluates annotations as code"),
    "operator.attrgetter": _LOOKS_UP,
    "operator.methodcaller": _LOOKS_UP,
    "types.FunctionType": Escape(CODE, "builds functions from code objects"),
    "types.LambdaType": Escape(CODE, "builds functions from code objects"),
    "types.CodeType": Escape(CODE, "builds code objects"),
    "os.open": _READS_FILES,
    "os.fdopen": _READS_FILES,
    **dict.fromkeys((f"os.{name}" for name in _OS_RUNNING_PROGRAMS), _RUNS_PROGRAMS),
    **{f"builtins.{name}": escape for name, escape in BUILTINS.items()},
}
#: Attributes that walk from any object to code, frames or namespaces (read directly or named
#: in a string, as ``getattr(f, "__globals__")`` does).
_DUNDERS: tuple[str, ...] = (
    "subclasses",
    "globals",
    "builtins",
    "code",
    "closure",
    "bases",
    "base",
    "mro",
)
_DUNDERS += ("self", "loader", "spec", "import", "getattribute", "reduce", "reduce_ex")
_FRAMES = ("tb_frame", "f_back", "f_globals", "f_locals", "f_builtins", "gi_frame", "cr_frame")
ATTRIBUTES: dict[str, Escape] = dict.fromkeys(
    (*(f"__{name}__" for name in (*_DUNDERS, "traceback")), *_FRAMES, "ag_frame"), _WALKS
)
ATTRIBUTE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(ATTRIBUTES) + r")(?![A-Za-z0-9_])")
#: ``module.__dict__``: a module's names as a dictionary.
MODULE_DICT = _NAMESPACE
#: Every dotted name an escape is found at or under (for :func:`dotted_escape`).
TARGETS = frozenset(MODULES) | frozenset(QUALIFIED)


def dotted_escape(dotted: str) -> Escape | None:
    """The escape a dotted name (``sys.modules.get``, ``importlib``) is, or is part of."""
    parts = dotted.split(".")
    if parts[0] in MODULES:
        return MODULES[parts[0]]
    for end in range(2, len(parts) + 1):
        escape = QUALIFIED.get(".".join(parts[:end]))
        if escape is not None:
            return escape
    if "__dict__" in parts[1:]:
        return MODULE_DICT
    return None
