"""Student code that misbehaved: timeouts, crashes, forbidden shortcuts and loading problems."""

from __future__ import annotations

from dataclasses import dataclass

from gradekit.core.scoring import NotebookResult

#: Check kinds that say the student's code misbehaved (not merely computed a wrong result).
INCIDENT_KINDS = ("timeout", "crash", "forbidden", "load")


@dataclass(frozen=True)
class Incident:
    """Student code that misbehaved: a timeout, crash, forbidden shortcut or loading problem.

    Attributes:
        student: The student's nbgrader id.
        notebook: The notebook's name.
        item: The grade cell (empty for what concerns the whole notebook).
        kind: A check kind (``timeout``, ``crash``, ``forbidden``), or ``incident`` (what the
            grading process recorded about the student's worker), ``load problem`` (the
            notebook's definitions could not all be loaded) or ``kernel`` (what went wrong
            while nbgrader's kernel executed the notebook).
        checks: Checks of the cell with that kind (0 for notebook-level entries).
        detail: The first such check's message, or the incident or problem itself.
    """

    student: str
    notebook: str
    item: str
    kind: str
    checks: int
    detail: str


def notebook_incidents(student: str, notebook: NotebookResult) -> list[Incident]:
    """The notebook's loading problems and incidents, then each cell's checks of each of
    :data:`INCIDENT_KINDS`."""
    found = [
        Incident(student, notebook.notebook, item="", kind=kind, checks=0, detail=detail)
        for kind, details in (
            ("load problem", notebook.load_problems),
            ("incident", notebook.incidents),
            ("kernel", notebook.execution_problems),
        )
        for detail in details
    ]
    for item in notebook.items.values():
        for kind in INCIDENT_KINDS:
            hits = [check for check in item.checks if check.kind == kind]
            if hits:
                found.append(
                    Incident(
                        student,
                        notebook.notebook,
                        item=item.item,
                        kind=kind,
                        checks=len(hits),
                        detail=hits[0].message,
                    )
                )
    return found
