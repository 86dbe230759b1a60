"""gradekit.worker.Guard: the runtime half of the forbidden-shortcut check, in a real worker.

Each student function reaches a forbidden tool in a way the source scan cannot see (names built
at run time); a watched call of it must come back as :class:`gradekit.remote.Forbidden`, and the
same call unwatched, or with the package allowed, must work.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from gradekit.notebook import notebook_from_dict
from gradekit.remote import Forbidden, ReferencePackage, Student, Submission
from gradekit.sandbox import Limits, start_worker

LIMITS = Limits(call_timeout=20, load_timeout=60, max_restarts=2, memory_mb=2048)

STUDENT_CODE = textwrap.dedent(
    """
    import numpy as np

    def loaded(name):
        return getattr(__builtins__ if isinstance(__builtins__, dict) else vars(__builtins__),
                       "get", lambda key: None)("__imp" + "ort__")(name)

    def honest(x):
        return np.maximum(x, 0)

    def with_torch(x):
        torch = loaded("tor" + "ch")
        return torch.relu(torch.tensor(x)).numpy()

    def with_autograd(x):
        torch = loaded("tor" + "ch")
        t = torch.tensor(x, requires_grad=True)
        (t ** 2).sum().backward()
        return t.grad.numpy()

    def with_sklearn_table(x):
        base = getattr(loaded("sys"), "mod" + "ules")["sklearn.neural_network._base"]
        table = getattr(base, "ACTIV" + "ATIONS")
        y = np.array(x, dtype=float)
        table["relu"](y)
        return y

    def with_reference(x):
        import sys
        return getattr(sys, "mod" + "ules")["refpkg"].helper(x)

    def uses_granted(x):
        return helper(x)
    """
)


@pytest.fixture(scope="module")
def submission(tmp_path_factory):
    package = tmp_path_factory.mktemp("pkg") / "refpkg"
    package.mkdir()
    (package / "__init__.py").write_text("def helper(x):\n    return x + 100\n")
    notebook = notebook_from_dict(
        {"cells": [{"cell_type": "code", "source": STUDENT_CODE, "metadata": {}}]}, name="nb"
    )
    with Submission(
        notebook=notebook,
        start_channel=lambda: start_worker(LIMITS),
        limits=LIMITS,
        reference=ReferencePackage.from_directory(package),
    ) as loaded:
        loaded.start()
        yield loaded


WATCHED = ("torch", "sklearn")


def test_honest_code_passes_the_guard(submission):
    got = Student(submission, forbid=WATCHED).call("honest", np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(got, [0.0, 2.0])


@pytest.mark.parametrize(
    ("name", "seen"),
    [
        pytest.param("with_torch", "calls torch", id="torch-function"),
        pytest.param("with_autograd", "calls torch", id="torch-autograd"),
        pytest.param("with_sklearn_table", "calls sklearn", id="sklearn-mlp-internals"),
        pytest.param("with_reference", "calls the reference", id="reference-by-lookup"),
    ],
)
def test_a_hidden_shortcut_is_forbidden(submission, name, seen):
    with pytest.raises(Forbidden, match=seen):
        Student(submission, forbid=WATCHED).call(name, np.array([-1.0, 2.0]))


def test_unwatched_calls_run_normally(submission):
    got = Student(submission).call("with_torch", np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(got, [0.0, 2.0])


def test_a_pytorch_item_may_use_torch(submission):
    got = Student(submission, forbid=()).call("with_autograd", np.array([1.0, 3.0]))
    np.testing.assert_array_equal(got, [2.0, 6.0])


def test_reference_names_the_graders_put_in_place_are_allowed(submission):
    student = Student(submission, substitute=["helper"], forbid=WATCHED)
    assert student.call("uses_granted", 1) == 101
