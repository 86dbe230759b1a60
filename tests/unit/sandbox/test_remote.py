"""gradekit.sandbox.submission, student, workers: calling untrusted code in another process."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from gradekit.core.notebook import notebook_from_dict
from gradekit.core.plans import ReferencePackage
from gradekit.sandbox.isolation import choose_isolation
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.problems import (
    NotDefined,
    NotLoaded,
    StudentCodeError,
    StudentCrash,
    StudentTimeout,
)
from gradekit.sandbox.resources import pids_cgroup
from gradekit.sandbox.student import Student
from gradekit.sandbox.submission import Submission

LIMITS = Limits(call_timeout=3, load_timeout=30, max_restarts=3, memory_mb=1024, preload=("numpy",))

STUDENT_CODE = textwrap.dedent(
    """
    import numpy as np
    import os, sys

    def double(x):
        return 2 * x

    def stub(x):
        raise NotImplementedError()

    def loud(x):
        print("x" * 10_000_000)
        return x

    def in_place(x):
        x *= 0
        return x

    def naive_sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def uses_helper(x):
        return helper(x)

    def forever():
        while True:
            pass

    def exit_hard():
        os._exit(3)

    def exit_soft():
        sys.exit(0)

    def memory_bomb():
        return np.ones((1 << 40,))

    def read_stdin():
        return sys.stdin.read()

    def fork_bomb():
        import time
        for _ in range(10_000):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)

    def read_file(path):
        with open(path) as handle:
            return handle.read(10)

    class Counter:
        def __init__(self, start):
            self.value = start

        def add(self, n):
            self.value += n
            return self.value

    model = Counter(0)
    model.add(1)
    while True:
        pass
    """
)


def make_notebook(*sources: str):
    cells = [{"cell_type": "code", "source": source, "metadata": {}} for source in sources]
    return notebook_from_dict({"cells": cells}, name="student")


@pytest.fixture(scope="module")
def submission(tmp_path_factory, workers):
    package = ReferencePackage("refpkg", {"__init__": "def helper(x):\n    return x + 100\n"})
    notebook = make_notebook(STUDENT_CODE, "def broken(:\n    pass")
    with Submission(
        notebook=notebook,
        start_channel=lambda: workers.start(LIMITS),
        limits=LIMITS,
        reference=package,
    ) as loaded:
        loaded.start()
        yield loaded


@pytest.fixture
def student(submission):
    submission.warnings.clear()
    return Student(submission)


def test_top_level_work_is_not_run(submission):
    # The infinite loop at the end of the cell was dropped; loading finished.
    assert not any("Counter" in problem for problem in submission.load_report.problems)


def test_calls_return_plain_data(student):
    np.testing.assert_array_equal(student.call("double", np.arange(3.0)), [0.0, 2.0, 4.0])


def test_objects_stay_in_the_worker(student):
    counter = student.new("Counter", 5)
    assert counter.call("add", 2) == 7
    assert counter.get("value") == 7
    counter.set("value", 1)
    assert counter.call("add", 1) == 2


def test_not_implemented_is_reported_as_such(student):
    with pytest.raises(StudentCodeError, match="not implemented yet"):
        student.call("stub", 1)


def test_missing_name_explains_the_failed_cell(student):
    with pytest.raises(NotDefined, match="SyntaxError"):
        student.call("broken")


def test_printing_does_not_disturb_the_protocol(student):
    assert student.call("loud", 3) == 3


def test_arguments_after_the_call_show_mutation(student):
    after = student.invoke("in_place", [np.ones(3)], return_args=True).args_after
    np.testing.assert_array_equal(after[0][0], np.zeros(3))


def test_warnings_are_captured_not_fatal(student, submission):
    assert student.call("naive_sigmoid", np.array([-1000.0]))[0] == 0.0
    assert any("overflow" in warning for warning in submission.warnings)


def test_reference_names_can_be_substituted(submission):
    assert Student(submission, substitute=["helper"]).call("uses_helper", 1) == 101
    with pytest.raises(StudentCodeError, match="name 'helper' is not defined"):
        Student(submission).call("uses_helper", 1)


def test_stdin_is_empty_for_student_code(student):
    assert student.call("read_stdin") == ""


def test_sys_exit_is_an_error_not_a_crash(student):
    with pytest.raises(StudentCodeError, match=r"sys\.exit"):
        student.call("exit_soft")


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        pytest.param("forever", StudentTimeout, "did not finish", id="infinite-loop"),
        pytest.param("exit_hard", StudentCrash, "status 3", id="os-exit"),
        pytest.param("memory_bomb", StudentCodeError, "MemoryError", id="memory-bomb"),
    ],
)
def test_failures_cost_only_that_call(student, name, error, match):
    with pytest.raises(error, match=match):
        student.call(name)
    np.testing.assert_array_equal(student.call("double", np.ones(1)), [2.0])


def test_a_timed_out_function_is_not_run_again(student):
    with pytest.raises(StudentTimeout):
        student.call("forever")
    with pytest.raises(StudentTimeout, match="not run again"):
        student.call("forever")


def test_restarts_are_limited(workers):
    limits = Limits(call_timeout=1, load_timeout=30, max_restarts=1, preload=("numpy",))
    notebook = make_notebook("import os\ndef crash():\n    os._exit(1)\ndef ok():\n    return 1")
    with Submission(
        notebook=notebook, start_channel=lambda: workers.start(limits), limits=limits
    ) as sub:
        student = Student(sub)
        for _ in range(2):
            with pytest.raises(StudentCrash):
                student.call("crash")
        with pytest.raises(StudentCrash, match="too often"):
            student.call("ok")


def test_fork_bomb_hits_the_process_limit(student):
    group = pids_cgroup()
    if group is None:
        pytest.skip("no writable pids cgroup on this machine: the process limit is not enforced")
    group.rmdir()
    with pytest.raises(StudentCodeError, match=r"BlockingIOError|Resource temporarily unavailable"):
        student.call("fork_bomb")
    np.testing.assert_array_equal(student.call("double", np.ones(1)), [2.0])


def test_sandbox_hides_the_course_files(student):
    if choose_isolation().name != "bubblewrap":
        pytest.skip("bubblewrap is not available: files are not hidden (see the log)")
    with pytest.raises(StudentCodeError, match="FileNotFoundError"):
        student.call("read_file", __file__)


def test_a_slow_statement_costs_only_what_it_defines(workers):
    limits = Limits(
        call_timeout=3, load_timeout=30, statement_timeout=1, max_restarts=1, preload=("numpy",)
    )
    notebook = make_notebook(
        "import time\nslow = time.sleep(60)\ndef after():\n    return 1",
    )
    with Submission(
        notebook=notebook,
        start_channel=lambda: workers.start(limits),
        limits=limits,
        needed=("after", "slow"),
    ) as sub:
        sub.start()
        assert any("StatementTimeout" in problem for problem in sub.load_report.problems)
        assert Student(sub).call("after") == 1
        with pytest.raises(NotLoaded) as missing:
            Student(sub).get("slow")
        assert str(missing.value) == (
            "'slow' is not defined: line 2 of cell 1, which sets slow, ran longer than the 1 s a "
            "statement may take when your definitions were loaded for grading"
        )


def test_a_load_that_times_out_is_not_tried_again(workers):
    limits = Limits(call_timeout=3, load_timeout=3, statement_timeout=0, max_restarts=3, preload=())
    notebook = make_notebook("import time\nslow = time.sleep(60)\ndef after():\n    return 1")
    with Submission(
        notebook=notebook,
        start_channel=lambda: workers.start(limits),
        limits=limits,
        needed=("after", "slow"),
    ) as sub:
        for _ in range(2):
            with pytest.raises(StudentTimeout):
                Student(sub).call("after")
        assert sub.generation == 1, "the notebook was loaded again after it timed out"


#: A notebook whose needed statements fail or are looked up only indirectly.
LOAD_PROBLEMS = (
    "import numpy as np",
    "SCALE = 1 / 0\ndef scaled(x):\n    return SCALE * x",
    "TABLE = {}\nTABLE['double'] = undefined_function\ndef lookup(name):\n    return TABLE[name]",
    "HIDDEN = 3\ndef dynamic():\n    return eval('HIDDEN')",
    "by_hand = {'relu(2)': 2.0 / 0}\nprint('training...')\nlosses = train()",
)


@pytest.fixture(scope="module")
def troubled(workers):
    with Submission(
        notebook=make_notebook(*LOAD_PROBLEMS),
        start_channel=lambda: workers.start(LIMITS),
        limits=LIMITS,
        needed=("scaled", "lookup", "dynamic", "by_hand", "renamed"),
    ) as loaded:
        loaded.start()
        yield Student(loaded)


@pytest.mark.parametrize(
    ("call", "kind", "text"),
    [
        pytest.param(
            lambda student: student.call("scaled", 2.0),
            NotLoaded,
            "scaled raised NameError at line 3 of cell 2: name 'SCALE' is not defined. Line 1 "
            "of cell 2, which sets SCALE, raised ZeroDivisionError: division by zero when your "
            "definitions were loaded for grading",
            id="a-constant-whose-statement-failed",
        ),
        pytest.param(
            lambda student: student.call("lookup", "double"),
            NotLoaded,
            "lookup raised KeyError at line 4 of cell 3: 'double'. Line 2 of cell 3, which "
            "lookup needs, raised NameError: name 'undefined_function' is not defined when your "
            "definitions were loaded for grading",
            id="a-table-whose-change-failed",
        ),
        pytest.param(
            lambda student: student.call("dynamic"),
            NotLoaded,
            "dynamic raised NameError at line 3 of cell 4: name 'HIDDEN' is not defined. Line 1 "
            "of cell 4, which sets HIDDEN, is not run when your definitions are loaded for "
            "grading (only imports, def, class and what graded code names run there; HIDDEN is "
            "only looked up indirectly, e.g. with globals() or eval)",
            id="a-constant-looked-up-indirectly",
        ),
        pytest.param(
            lambda student: student.get("by_hand"),
            NotLoaded,
            "'by_hand' is not defined: line 1 of cell 5, which sets by_hand, raised "
            "ZeroDivisionError: float division by zero when your definitions were loaded for "
            "grading",
            id="a-graded-value-whose-statement-failed",
        ),
        pytest.param(
            lambda student: student.get("renamed"),
            NotDefined,
            "'renamed' is not defined: loading your notebook failed in cell 2: "
            "ZeroDivisionError: division by zero (line 1); cell 3: NameError: name "
            "'undefined_function' is not defined (line 2)",
            id="a-graded-name-nothing-sets",
        ),
    ],
)
def test_a_load_problem_is_explained_with_its_cell_line_and_why(troubled, call, kind, text):
    """The student-visible text of a check that hits a statement skipped or failed at load."""
    with pytest.raises(kind) as raised:
        call(troubled)
    assert type(raised.value) is kind
    assert str(raised.value) == text


def test_work_nothing_graded_uses_is_not_run(troubled):
    report = troubled.submission.load_report
    assert not any("train" in problem for problem in report.problems)
    assert report.sources["cell 5"].skipped[0].names == ("losses",)
