"""What keeps the student's code from answering a check, in words a student understands.

Every failure of a request into the student's process arrives at the graders as one of these
exceptions (raised by :class:`gradekit.sandbox.submission.Submission`); the check suite's plugin
turns each into a kind of failed check.
"""

from __future__ import annotations


class StudentProblem(Exception):
    """Base class: the student's code could not give an answer for a check."""


class StudentCodeError(StudentProblem):
    """The student's code raised an exception."""


class NotDefined(StudentProblem):
    """A name the check needs is not defined by the notebook."""


class StudentTimeout(StudentProblem):
    """The student's code did not finish in time."""


class StudentCrash(StudentProblem):
    """The student's process died (exit, crash, memory limit)."""


class LostSandbox(StudentProblem):
    """The sandbox around the student's process was lost (not the student's doing): the
    request is sent again in a fresh one, and no restart is charged."""


class Forbidden(StudentProblem):
    """The submission takes a forbidden shortcut: its grade cell gets no credit at all."""


class NotLoaded(StudentProblem):
    """A name the check needs is missing or broken because a statement of the notebook was
    skipped, failed or ran too long when the definitions were loaded."""
