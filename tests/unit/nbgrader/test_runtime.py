"""gradekit.nbgrader.runtime: one runtime owns what grading keeps between notebooks, and closes it.

On the tiny course: a notebook graded through a runtime starts its suite session and a fork
server of student processes, a kernel fork server is started for this thread; closing the
runtime ends all of them. Two runtimes share nothing, and nbgrader's steps find theirs up their
``parent`` chain.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from traitlets.config import LoggingConfigurable

from gradekit.checks.grading import grade_notebook
from gradekit.checks.pytest_plugin import support_files
from gradekit.core.notebook import read_notebook
from gradekit.nbgrader import kernel_sandbox
from gradekit.nbgrader.course import Course
from gradekit.nbgrader.runtime import Runtime, RuntimeParent, runtime_of
from gradekit.sandbox import workers as workers_module
from gradekit.sandbox.fork_server import Zygote
from tests.unit.fixtures import ASSIGNMENT, GRADE_CELLS, NOTEBOOK


@pytest.fixture
def zygotes(monkeypatch) -> Iterator[list[Zygote]]:
    """Every fork server started during the test (student processes and kernels)."""
    started: list[Zygote] = []

    class Recorded(Zygote):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(workers_module, "Zygote", Recorded)
    monkeypatch.setattr(kernel_sandbox, "Zygote", Recorded)
    yield started
    for zygote in started:  # whatever a failing test left running
        zygote.close()


def _grade(runtime: Runtime, course: Course):
    """The tiny course's solution notebook graded in ``runtime``'s grading thread."""
    return runtime.gradings.submit(
        grade_notebook,
        notebook=read_notebook(course.root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"),
        suite=course.suite(ASSIGNMENT),
        support_files=support_files(course.path("source", assignment=ASSIGNMENT)),
        limits=course.settings.limits(),
        sessions=runtime.suites,
    ).result(timeout=60)


def test_a_runtime_owns_its_parts_and_closing_it_ends_them(tiny_course, zygotes):
    runtime = Runtime()
    result = _grade(runtime, tiny_course)
    assert {grade_id: item.points for grade_id, item in result.items.items()} == GRADE_CELLS
    session = runtime.suites.of(tiny_course.suite(ASSIGNMENT))
    kernels = runtime.kernels.for_this_thread(tiny_course.settings.limits())
    assert session.alive and kernels.zygote.alive and kernels.root.is_dir()
    assert len(zygotes) == 2, "one fork server of student processes, one of kernels"
    assert all(zygote.alive for zygote in zygotes)

    runtime.close()

    assert not session.alive, "the suite session's thread ended"
    assert not any(zygote.alive for zygote in zygotes), "every fork server stopped"
    assert not kernels.root.exists(), "the kernels' folders are removed"
    with pytest.raises(RuntimeError):
        _grade(runtime, tiny_course)  # its grading thread is shut down


def test_two_runtimes_share_no_session(tiny_course):
    suite = tiny_course.suite(ASSIGNMENT)
    with Runtime() as first, Runtime() as second:
        assert first.suites.of(suite) is first.suites.of(suite)
        assert first.suites.of(suite) is not second.suites.of(suite)
        assert first.gradings is not second.gradings
        assert first.validated_cells is not second.validated_cells


class _Step(LoggingConfigurable):
    """Stands in for an nbgrader step, its exporter and its converter."""


def test_steps_find_the_runtime_up_their_parent_chain():
    converter = _Step()
    exporter = _Step(parent=converter)
    first, second = _Step(parent=exporter), _Step(parent=exporter)
    runtime = runtime_of(first)
    assert runtime_of(second) is runtime is runtime_of(converter), "kept by the top of the chain"
    assert runtime_of(_Step(parent=_Step())) is not runtime, "another conversion, another runtime"
    with Runtime() as lent:
        assert runtime_of(_Step(parent=_Step(parent=RuntimeParent(lent)))) is lent


def test_a_runtime_made_for_a_chain_is_closed_with_its_top():
    top = _Step()
    runtime = runtime_of(_Step(parent=_Step(parent=top)))
    runtime.validated_cells.add("a cell")
    del top
    gc.collect()  # the chain's objects refer to each other
    assert not runtime.validated_cells, "closed when its owner went away"
    with pytest.raises(RuntimeError):
        runtime.gradings.submit(print)
