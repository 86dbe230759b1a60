"""What a grader sees of a submission: call, construct, read — with some names replaced.

::

    student = Student(submission, substitute=["relu"])  # reference relu inside these calls
    student.call("relu", x)                            # -> numpy array (plain data)
    model = student.new("Model", [2, 3, 1])            # -> RemoteObject (stays in the worker)
    model.call("forward", X); model.get("weights"); model.set("weights", [...])

Everything returned is plain data decoded on this side; the comparisons are the graders' job.
Failures of the student's code arrive as the exceptions of :mod:`gradekit.sandbox.problems`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gradekit.sandbox import wire
from gradekit.sandbox.problems import StudentCodeError, StudentCrash
from gradekit.sandbox.submission import Submission


@dataclass
class CallResult:
    """A call's result and, on request, the arguments as they were after the call."""

    value: Any
    args_after: tuple[list[Any], dict[str, Any]] | None = None


def invoke_in(
    submission: Submission,
    name: str,
    args: Iterable[Any] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    ref: RemoteObject | None = None,
    seed: int | None = None,
    return_args: bool = False,
    substitute: Iterable[str] = (),
    timeout: float | None = None,
) -> CallResult:
    """Call a global of ``submission``'s notebook (or a method of ``ref``).

    Args:
        submission: The loaded submission.
        name: Function/class name, or method name when ``ref`` is given.
        args: Positional arguments (plain data or :class:`RemoteObject`).
        kwargs: Keyword arguments.
        ref: The object whose method to call.
        seed: Seed ``random``, NumPy and the course's seed functions
            (:attr:`gradekit.core.libraries.Libraries.seed_functions`) in the worker right
            before the call.
        return_args: Also return the arguments as they are after the call (mutation checks).
        substitute: Names replaced by their reference versions during the call.
        timeout: Seconds allowed (default: ``Limits.call_timeout``).

    Returns:
        The result as plain data; objects come back as handles (``RemoteRef``).

    Raises:
        Forbidden: The call imported a package absent from the student's process.
    """
    if ref is not None:
        target: dict[str, Any] = {"ref": ref.handle_in(submission), "attr": name}
        label = f"{ref.type_name}.{name}"
    else:
        target = {"name": name}
        label = name
    message = {
        "op": "call",
        "target": target,
        "args": wire.encode([_plain(arg, submission) for arg in args], arrays=submission.arrays),
        "kwargs": wire.encode(
            {key: _plain(value, submission) for key, value in (kwargs or {}).items()},
            arrays=submission.arrays,
        ),
        "seed": seed,
        "return_args": return_args,
        "substitute": list(substitute),
    }
    answer = submission.request(message, label, timeout)
    args_after = None
    if return_args:
        positional, keywords = answer["args"]
        args_after = (list(positional), dict(keywords))
    return CallResult(answer["result"], args_after)


class Student:
    """What a grader sees of a submission: call, construct, read — with some names replaced.

    Args:
        submission: The loaded submission.
        substitute: Names replaced by their reference versions in every call, so that a bug in an
            earlier item does not cost points again here.
    """

    def __init__(self, submission: Submission, substitute: Iterable[str] = ()):
        self.submission = submission
        self.substitute = tuple(substitute)

    def invoke(
        self,
        name: str,
        args: Iterable[Any] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> CallResult:
        """:func:`invoke_in` with this view's substitutions; objects wrapped."""
        options.setdefault("substitute", self.substitute)
        result = invoke_in(self.submission, name, args, kwargs, **options)
        return CallResult(self.wrap(result.value), result.args_after)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a function (or class) defined by the notebook; its result as plain data."""
        return self.invoke(name, args, kwargs).value

    def new(self, name: str, *args: Any, **kwargs: Any) -> RemoteObject:
        """Construct an object of a class defined by the notebook."""
        value = self.call(name, *args, **kwargs)
        if not isinstance(value, RemoteObject):
            raise StudentCodeError(
                f"{name}(...) did not create an object (got {type(value).__name__})"
            )
        return value

    def get(self, name: str) -> Any:
        """The value of a global of the notebook."""
        return self.wrap(self.submission.request({"op": "get", "target": {"name": name}}, name))

    def has(self, name: str) -> bool:
        """Whether the notebook defines ``name``."""
        return bool(self.submission.request({"op": "has", "name": name}, f"looking up {name}"))

    def evaluate(self, expression: str, label: str, **objects: RemoteObject) -> Any:
        """Evaluate a grader-written expression in the student's process (to inspect objects)."""
        refs = {key: obj.handle_in(self.submission) for key, obj in objects.items()}
        message = {
            "op": "eval",
            "expr": expression,
            "refs": refs,
            "substitute": list(self.substitute),
        }
        return self.wrap(self.submission.request(message, label))

    def wrap(self, value: Any) -> Any:
        """Turn handles inside ``value`` into :class:`RemoteObject` s bound to this view, and
        keep only the type names the disclosure rules allow."""
        disclosure = self.submission.disclosure
        if isinstance(value, wire.RemoteRef):
            ref = wire.RemoteRef(value.handle, disclosure.name(value.type_name))
            return RemoteObject(self, ref, self.submission.generation)
        if isinstance(value, wire.Opaque):
            return wire.Opaque(disclosure.name(value.type_name.split(".")[-1]), "")
        if isinstance(value, list):
            return [self.wrap(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.wrap(item) for item in value)
        if isinstance(value, dict):
            return {key: self.wrap(item) for key, item in value.items()}
        return value


class RemoteObject:
    """An object that lives in the student's process."""

    def __init__(self, student: Student, ref: wire.RemoteRef, generation: int):
        self.student = student
        self.ref = ref
        self.generation = generation

    @property
    def type_name(self) -> str:
        return self.ref.type_name

    def handle_in(self, submission: Submission) -> int:
        """The handle id, if the process that holds the object is still the current one."""
        if submission.generation != self.generation:
            raise StudentCrash(
                f"a {self.type_name} object was lost when the grading process restarted"
            )
        return self.ref.handle

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a method; its result as plain data."""
        return self.student.invoke(method, args, kwargs, ref=self).value

    def invoke(
        self,
        method: str,
        args: Iterable[Any] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> CallResult:
        """Call a method with the options of :func:`invoke_in`."""
        return self.student.invoke(method, args, kwargs, ref=self, **options)

    def get(self, attribute: str) -> Any:
        """An attribute's value (plain data, or another :class:`RemoteObject`)."""
        submission = self.student.submission
        message = {"op": "get", "target": {"ref": self.handle_in(submission), "attr": attribute}}
        return self.student.wrap(submission.request(message, f"{self.type_name}.{attribute}"))

    def set(self, attribute: str, value: Any) -> None:
        """Set an attribute to plain data."""
        submission = self.student.submission
        message = {
            "op": "set",
            "ref": self.handle_in(submission),
            "attr": attribute,
            "value": wire.encode(_plain(value, submission), arrays=submission.arrays),
        }
        submission.request(message, f"setting {self.type_name}.{attribute}")

    def __repr__(self) -> str:
        return f"<student {self.type_name} object>"


def _plain(value: Any, submission: Submission) -> Any:
    if isinstance(value, RemoteObject):
        return wire.RemoteRef(value.handle_in(submission), value.type_name)
    return value
