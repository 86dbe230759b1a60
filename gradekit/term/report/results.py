"""A class's autograded results, read from the autograded notebooks.

nbgrader exports totals only. The kit stores every check's result in each autograded notebook
(metadata ``gradekit``, read by :func:`gradekit.nbgrader.results.read_results`);
:func:`collect_results` reads them for a whole class.
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat

from gradekit.core.scoring import POINT_DECIMALS, ItemResult, NotebookResult
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.gradebook import scores
from gradekit.nbgrader.results import read_results


@dataclass(frozen=True)
class StudentResults:
    """One student's autograded notebooks of an assignment.

    Attributes:
        student: The student's nbgrader id.
        notebooks: The results stored in each autograded notebook, in notebook order.
    """

    student: str
    notebooks: tuple[NotebookResult, ...]

    @property
    def points(self) -> float:
        """Total autograded points."""
        return round(sum(notebook.points for notebook in self.notebooks), POINT_DECIMALS)

    @property
    def max_points(self) -> float:
        return sum(notebook.max_points for notebook in self.notebooks)


@dataclass(frozen=True)
class ClassResults:
    """The autograded results of every student of an assignment who has some.

    Attributes:
        assignment: The assignment's name.
        students: One entry per student, in the students' order.
    """

    assignment: str
    students: tuple[StudentResults, ...]


def collect_results(*, course: Course, assignment: str) -> ClassResults:
    """The results stored in every autograded notebook of an assignment.

    Reads ``autograded/<student>/<assignment>/*.ipynb`` (nbgrader's paths for the course).
    Notebooks without the kit's results are skipped; students without any are left out.
    """
    autograded = course.root / course.coursedir.autograded_directory
    folders = sorted(p.name for p in autograded.glob("*") if p.is_dir())
    students = []
    for student in folders:
        folder = course.path("autograded", assignment=assignment, student=student)
        notebooks = tuple(
            result
            for path in sorted(folder.glob("*.ipynb"))
            if (result := read_results(nbformat.read(path, as_version=4))) is not None
        )
        if notebooks:
            students.append(StudentResults(student=student, notebooks=notebooks))
    return ClassResults(assignment=assignment, students=tuple(students))


def gradebook_totals(*, course: Course, assignment: str) -> dict[str, float]:
    """Each student's total for the assignment in nbgrader's gradebook (manual grades
    included where given)."""
    return {row.student: row.score for row in scores(course=course, assignment=assignment)}


def check_points(item: ItemResult) -> list[float]:
    """Points each of the item's checks is worth: ``max points * weight / total weight``."""
    total = item.total_weight
    return [item.max_points * check.weight / total if total else 0.0 for check in item.checks]
