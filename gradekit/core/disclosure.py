"""What of a student process's words may reach the feedback.

The student's code receives the hidden inputs of every check, and the reference modules of
earlier items sit in its process: any text it sends back (an exception's type name or message,
a warning, a type name) could carry them, and would be stored in the autograded notebook and
shown in the feedback. :class:`Disclosure` lets through only what cannot:

- names: identifiers that appear in the notebook's own source (fixed before any hidden input
  exists) or in a fixed vocabulary of Python's and NumPy's type and exception names, and those
  the course declares for the other libraries its assignment uses
  (:class:`gradekit.core.libraries.Libraries`);
- messages: the common messages of Python and NumPy, and those the course declares for its
  libraries, recognised by a table of patterns and rebuilt from parts checked one by one (names
  as above, small integers, shapes of small integers), or text that appears verbatim as a string
  in the notebook's source (the student's own ``raise ValueError("...")``); any other message is
  withheld, and says so;
- locations: a line of a cell the trusted side sent, nothing else.

So a message carries at most a few bits that depend on the hidden inputs (which of the
notebook's names, an integer below :data:`SMALL`), never their values, and every text is capped.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from gradekit.core.libraries import NO_LIBRARIES, Libraries

#: Integers a message may show (array sizes, indices, argument counts of the checks' inputs).
SMALL = 1000
#: Longest text of one message, note or problem kept in the results.
MAX_TEXT = 400
#: What a withheld message says instead.
WITHHELD = (
    "its message is not shown: it is not one the grader knows, and could reveal hidden inputs"
)

#: Type names that may appear whatever the notebook defines.
_VOCABULARY = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and not name.startswith("_")
) | {
    "NoneType",
    "function",
    "builtin_function_or_method",
    "method",
    "module",
    "ndarray",
    "numpy.ndarray",
    "generator",
    "float64",
    "float32",
    "int64",
    "int32",
    "bool_",
    "numpy.float64",
    "numpy.int64",
    "numpy.bool_",
    "LinAlgError",
    "AxisError",
    "ufunc",
    "dict_keys",
    "dict_values",
    "range",
    "zip",
    "map",
    "filter",
    "cell",
}
#: Attribute names of Python's and NumPy's own types and of NumPy's namespace (public knowledge).
_VOCABULARY |= frozenset(
    name
    for kind in (list, dict, tuple, str, set, float, int, np.ndarray, np.generic)
    for name in dir(kind)
    if not name.startswith("__")
) | frozenset(name for name in dir(np) if not name.startswith("_"))

_INT = r"(?P<{}>-?\d{{1,6}})"
_NAME = r"(?P<{}>[A-Za-z_][\w.]{{0,59}})"
_SHAPE = r"(?P<{}>\((?:\d{{1,6}}, ?)*\d{{0,6}},?\))"
_OP = r"(?P<{}>\*\*|//|<<|>>|[-+*/%@&|^<>]=?|==|!=)"


@dataclass(frozen=True)
class _Template:
    """A message with checked parts: ``"index {int:i} is out of bounds"``."""

    regex: re.Pattern[str]
    kinds: dict[str, str]  # group -> int, name, shape or op

    @classmethod
    def of(cls, template: str) -> _Template:
        parts = re.split(r"\{(\w+):(\w+)\}", template)
        regex, kinds = "", {}
        for index in range(0, len(parts), 3):
            regex += re.escape(parts[index])
            if index + 2 < len(parts):
                kind, group = parts[index + 1], parts[index + 2]
                regex += {"int": _INT, "name": _NAME, "shape": _SHAPE, "op": _OP}[kind].format(
                    group
                )
                kinds[group] = kind
        return cls(re.compile(regex), kinds)


#: The messages Python and NumPy raise most in students' array code, by exception type.
_MESSAGES: dict[str, tuple[str, ...]] = {
    "TypeError": (
        "unsupported operand type(s) for {op:o}: '{name:a}' and '{name:b}'",
        "'{name:a}' object is not subscriptable",
        "'{name:a}' object is not callable",
        "'{name:a}' object is not iterable",
        "'{name:a}' object does not support item assignment",
        "{name:f}() takes {int:a} positional argument but {int:b} were given",
        "{name:f}() takes {int:a} positional arguments but {int:b} were given",
        "{name:f}() takes {int:a} positional arguments but {int:b} positional arguments"
        " (and {int:c} keyword-only argument) were given",
        "{name:f}() missing {int:a} required positional argument: '{name:b}'",
        "{name:f}() missing {int:a} required positional arguments: '{name:b}' and '{name:c}'",
        "{name:f}() got an unexpected keyword argument '{name:b}'",
        "{name:f}() got multiple values for argument '{name:b}'",
        "cannot unpack non-iterable {name:a} object",
        "can't multiply sequence by non-int of type '{name:a}'",
        'can only concatenate {name:a} (not "{name:b}") to {name:c}',
        "'{op:o}' not supported between instances of '{name:a}' and '{name:b}'",
        "unhashable type: '{name:a}'",
        "only integer scalar arrays can be converted to a scalar index",
        "only length-1 arrays can be converted to Python scalars",
        "float() argument must be a string or a real number, not '{name:a}'",
        "bad operand type for unary {op:o}: '{name:a}'",
        "object of type '{name:a}' has no len()",
    ),
    "ValueError": (
        "operands could not be broadcast together with shapes {shape:a} {shape:b} ",
        "operands could not be broadcast together with shapes {shape:a} {shape:b} {shape:c} ",
        "shapes {shape:a} and {shape:b} not aligned: "
        "{int:c} (dim {int:d}) != {int:e} (dim {int:f})",
        "matmul: Input operand {int:a} has a mismatch in its core dimension {int:b}, with gufunc "
        "signature (n?,k),(k,m?)->(n?,m?) (size {int:c} is different from {int:d})",
        "too many values to unpack (expected {int:a})",
        "not enough values to unpack (expected {int:a}, got {int:b})",
        "The truth value of an array with more than one element is ambiguous. "
        "Use a.any() or a.all()",
        "setting an array element with a sequence.",
        "cannot reshape array of size {int:a} into shape {shape:b}",
        "could not broadcast input array from shape {shape:a} into shape {shape:b}",
        "non-broadcastable output operand with shape {shape:a} doesn't match the broadcast "
        "shape {shape:b}",
        "math domain error",
        "all the input array dimensions except for the concatenation axis must match exactly, "
        "but along dimension {int:a}, the array at index {int:b} has size {int:c} and the array "
        "at index {int:d} has size {int:e}",
        "zero-size array to reduction operation maximum which has no identity",
        "zero-size array to reduction operation minimum which has no identity",
    ),
    "IndexError": (
        "index {int:a} is out of bounds for axis {int:b} with size {int:c}",
        "list index out of range",
        "tuple index out of range",
        "list assignment index out of range",
        "too many indices for array: array is {int:a}-dimensional, but {int:b} were indexed",
        "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or "
        "boolean arrays are valid indices",
    ),
    "AttributeError": (
        "'{name:a}' object has no attribute '{name:b}'",
        "module '{name:a}' has no attribute '{name:b}'",
        "type object '{name:a}' has no attribute '{name:b}'",
        "can't set attribute '{name:a}'",
    ),
    "NameError": ("name '{name:a}' is not defined",),
    "UnboundLocalError": (
        "cannot access local variable '{name:a}' where it is not associated with a value",
    ),
    "KeyError": ("'{name:a}'", "{int:a}"),
    "ZeroDivisionError": (
        "division by zero",
        "float division by zero",
        "integer division or modulo by zero",
        "float modulo",
    ),
    "RecursionError": (
        "maximum recursion depth exceeded",
        "maximum recursion depth exceeded while calling a Python object",
        "maximum recursion depth exceeded in comparison",
    ),
    "OverflowError": ("math range error", "(34, 'Numerical result out of range')"),
    "LinAlgError": ("Singular matrix",),
    "ModuleNotFoundError": ("No module named '{name:a}'",),
    "ImportError": ("cannot import name '{name:a}' from '{name:b}'",),
    "SyntaxError": ("invalid syntax", "unexpected EOF while parsing", "'(' was never closed"),
    "IndentationError": ("expected an indented block", "unexpected indent"),
}
_WARNINGS = (
    "overflow encountered in {name:a}",
    "divide by zero encountered in {name:a}",
    "invalid value encountered in {name:a}",
    "underflow encountered in {name:a}",
    "Mean of empty slice.",
    "Degrees of freedom <= 0 for slice",
)
_COMPILED = {
    kind: tuple(_Template.of(t) for t in templates) for kind, templates in _MESSAGES.items()
}
_COMPILED_WARNINGS = [_Template.of(t) for t in _WARNINGS]
#: Exceptions and warnings that may be named whatever the notebook defines.
_KNOWN_KINDS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
) | {"LinAlgError", "AxisError", "ComplexWarning", "StatementTimeout", "WireError"}
_WHERE = re.compile(r"line (?P<line>\d{1,6}) of (?P<cell>cell \d{1,4}(?: '[\w.-]{1,80}')?)")


@dataclass(frozen=True)
class Disclosure:
    """The judge of what a notebook's process may say in its own feedback.

    Attributes:
        names: Identifiers of the notebook's source.
        strings: String constants of the notebook's source.
        cells: Key of each cell the trusted side sent -> its number of lines.
        declared: Type names the course declares for its libraries.
        messages: Exception type -> the templates of the messages that may be shown (Python's
            and NumPy's, and those the course declares).
    """

    names: frozenset[str]
    strings: frozenset[str]
    cells: dict[str, int]
    declared: frozenset[str] = frozenset()
    messages: Mapping[str, tuple[_Template, ...]] = field(
        default_factory=lambda: MappingProxyType(_COMPILED)
    )

    @classmethod
    def of(
        cls, cells: Iterable[tuple[str, str]], *, libraries: Libraries = NO_LIBRARIES
    ) -> Disclosure:
        """From the notebook's cells as sent to the student's process: ``(key, source)``, and
        what the course declares of its libraries (their type names and messages)."""
        names: set[str] = set()
        strings: set[str] = set()
        lines = {}
        for key, source in cells:
            lines[key] = source.count("\n") + 1
            try:
                tree = ast.parse(source)
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Name):
                    names.add(node.id)
                elif isinstance(node, ast.Attribute):
                    names.add(node.attr)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    names.add(node.name)
                elif isinstance(node, ast.arg):
                    names.add(node.arg)
                elif isinstance(node, ast.alias):
                    names.update((node.asname or node.name).split("."))
                    names.update(node.name.split("."))
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    strings.add(node.value[: MAX_TEXT + 1])
        messages = dict(_COMPILED)
        for kind, templates in libraries.messages.items():
            messages[kind] = messages.get(kind, ()) + tuple(_Template.of(t) for t in templates)
        return cls(
            frozenset(names),
            frozenset(strings),
            lines,
            frozenset(libraries.type_names),
            messages,
        )

    def name(self, text: object, default: str = "object") -> str:
        """``text`` if it is a name the notebook or Python defines, else ``default``."""
        if isinstance(text, str) and (
            text in self.names
            or text in _VOCABULARY
            or text in self.declared
            or text.split(".")[-1] in self.names
        ):
            return text
        return default

    def kind(self, text: object) -> str:
        """An exception or warning type's name, if it may be shown."""
        if isinstance(text, str) and (
            text in _KNOWN_KINDS or text in self.names or text in self.declared
        ):
            return text
        return "an exception of another type"

    def where(self, text: object) -> str:
        """``line N of cell K`` if it names a line of a cell that was sent, else ``""``."""
        match = _WHERE.fullmatch(text) if isinstance(text, str) else None
        if match and 0 < int(match["line"]) <= self.cells.get(match["cell"], 0):
            return match[0]
        return ""

    def message(self, kind: str, text: object) -> str:
        """The message of an exception of type ``kind``, or why it is not shown."""
        if not isinstance(text, str):
            return ""
        shown = self._known(text, self.messages.get(kind, ()))
        return shown if shown is not None else f"({WITHHELD})"

    def warning(self, category: object, text: object, where: object) -> str:
        """One line for a warning the student's code emitted."""
        kind = self.kind(category)
        if kind.startswith("an exception"):
            kind = "a warning of another category"
        shown = self._known(text, _COMPILED_WARNINGS) if isinstance(text, str) else None
        located = self.where(where)
        return f"{kind}: {shown if shown is not None else '(' + WITHHELD + ')'}" + (
            f" ({located})" if located else ""
        )

    def _known(self, text: str, templates: Iterable[_Template]) -> str | None:
        """``text`` if the notebook's source holds it, or it is a known message whose every
        part may be shown; else ``None``."""
        if text == "" or text in self.strings:
            return text[:MAX_TEXT]
        for template in templates:
            match = template.regex.fullmatch(text)
            if match and all(
                self._allowed(template.kinds[group], value)
                for group, value in match.groupdict().items()
            ):
                return text
        return None

    def _allowed(self, kind: str, value: str) -> bool:
        if kind == "int":
            return abs(int(value)) < SMALL
        if kind == "shape":
            return all(int(size) < SMALL for size in re.findall(r"\d+", value))
        if kind == "name":
            return self.name(value, default="") != ""
        return True


def cap(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
