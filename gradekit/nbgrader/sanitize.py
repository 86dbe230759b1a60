"""nbgrader's sanitizing steps of ``nbgrader autograde``, applied outside its converter.

Grading ahead (:mod:`gradekit.nbgrader.gradings`) and batch jobs
(:mod:`gradekit.batch.job`) grade a notebook before nbgrader's converter reaches it; they sanitize
it here with the configured ``Autograde.sanitize_preprocessors``, exactly as nbgrader will, and
match the results to nbgrader's notebooks by :func:`content_key`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Configurable


def content_key(nb: NotebookNode, notebook: str) -> str:
    """What grading depends on: the notebook's name, cell sources and nbgrader metadata."""
    cells = [
        [cell.cell_type, cell.source, cell.get("metadata", {}).get("nbgrader")] for cell in nb.cells
    ]
    data = json.dumps([notebook, cells], sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def sanitized_siblings(
    resources: ResourcesDict, config: Any, parent: Configurable | None = None
) -> list[tuple[str, tuple[NotebookNode, ResourcesDict]]]:
    """The submission's other notebooks, after the sanitizing steps ``nbgrader autograde`` will
    apply to them (restoring locked cells and grade metadata from the gradebook); ``parent`` is
    the steps' parent (see :func:`sanitize_notebook`)."""
    info = resources["nbgrader"]
    coursedir = CourseDirectory(config=config)
    folder = Path(
        coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"])
    )
    siblings = []
    for path in sorted(folder.glob("*.ipynb")):
        if path.stem == info["notebook"]:
            continue
        sibling_resources = copy.deepcopy(resources)
        sibling_resources["nbgrader"]["notebook"] = path.stem
        sibling_resources["unique_key"] = path.stem
        try:
            siblings.append((path.stem, sanitize(path, sibling_resources, config, parent)))
        except Exception:  # nbgrader reports the problem when it reaches this notebook
            continue
    return siblings


def sanitize(
    path: Path, resources: ResourcesDict, config: Any, parent: Configurable | None = None
) -> tuple[NotebookNode, ResourcesDict]:
    """A submitted notebook after nbgrader's sanitizing steps of ``nbgrader autograde``
    (outputs cleared, duplicate ids removed, locked cells and grade metadata restored from the
    gradebook).

    Raises:
        Exception: Whatever nbformat or nbgrader raise for a notebook they cannot read.
    """
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    return sanitize_notebook(nb, resources, config, parent)


def sanitize_notebook(
    nb: NotebookNode, resources: ResourcesDict, config: Any, parent: Configurable | None = None
) -> tuple[NotebookNode, ResourcesDict]:
    """:func:`sanitize` for a notebook already read (changed in place).

    Args:
        nb: The notebook.
        resources: Its nbgrader resources.
        config: The course's configuration.
        parent: The steps' parent, whose runtime they use (:func:`gradekit.nbgrader.runtime.
            runtime_of`; default: a runtime of their own).
    """
    coursedir = CourseDirectory(config=config)
    for step in Autograde(coursedir=coursedir, config=config).sanitize_preprocessors:
        nb, resources = step(config=config, parent=parent).preprocess(nb, resources)
    return nb, resources
