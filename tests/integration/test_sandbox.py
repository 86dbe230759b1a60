"""gradekit.sandbox.workers: packages absent from a student's process, and killing between
students."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from gradekit.core.plans import ReferencePackage
from gradekit.sandbox.isolation import choose_isolation
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.problems import Forbidden, StudentCodeError, StudentCrash
from gradekit.sandbox.student import Student
from gradekit.sandbox.submission import Submission
from gradekit.sandbox.workers import WorkerPool
from tests.unit.fixtures import started_submission

LIMITS = Limits(call_timeout=20, load_timeout=60, max_restarts=0, memory_mb=2048)
WITHOUT = ("torch", "sklearn")
BUBBLEWRAP = choose_isolation().name == "bubblewrap"

#: Ways of reaching a package the source scan cannot see (names built at run time).
STUDENT_CODE = textwrap.dedent(
    """
    import importlib
    import numpy as np

    def loaded(name):
        return importlib.import_module(name)

    def honest(x):
        return np.maximum(x, 0)

    def with_torch(x):
        torch = loaded("tor" + "ch")
        return torch.relu(torch.tensor(x)).numpy()

    def with_sklearn(x):
        return loaded("sklearn.neural_network._base").ACTIVATIONS["relu"](np.array(x))

    def with_reference(x):
        return loaded("refpkg").answer(x)

    def uses_helper(x):
        return helper(x)
    """
)


def submission(
    workers: WorkerPool, without: tuple[str, ...], package: ReferencePackage | None = None
) -> Submission:
    return started_submission(
        STUDENT_CODE, workers=workers, limits=LIMITS, without=without, reference=package
    )


@pytest.fixture(scope="module")
def from_scratch(workers):
    package = ReferencePackage("refpkg", {"__init__": "def helper(x):\n    return x + 100\n"})
    with submission(workers, WITHOUT, package) as loaded:
        yield loaded


def test_honest_code_runs_without_the_absent_packages(from_scratch):
    got = Student(from_scratch).call("honest", np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(got, [0.0, 2.0])


@pytest.mark.skipif(not BUBBLEWRAP, reason="packages are hidden by bubblewrap's mounts")
@pytest.mark.parametrize(
    ("name", "package"),
    [
        pytest.param("with_torch", "torch", id="torch-by-computed-name"),
        pytest.param("with_sklearn", "sklearn", id="sklearn-mlp-internals"),
    ],
)
def test_an_absent_package_is_a_forbidden_shortcut(from_scratch, name, package):
    with pytest.raises(Forbidden, match=f"imports {package}, which this item may not use"):
        Student(from_scratch).call(name, np.array([-1.0, 2.0]))


def test_only_the_shipped_reference_names_exist(from_scratch):
    assert Student(from_scratch, substitute=["helper"]).call("uses_helper", 1) == 101
    with pytest.raises(StudentCodeError, match="with_reference raised AttributeError"):
        Student(from_scratch).call("with_reference", 1)


def test_a_pytorch_item_may_use_torch(workers):
    with submission(workers, ()) as loaded:
        got = Student(loaded).call("with_torch", np.array([-1.0, 3.0]))
    np.testing.assert_array_equal(got, [0.0, 3.0])


def test_reset_kills_every_worker_before_the_next_student(workers):
    first = submission(workers, WITHOUT)
    workers.reset()
    with pytest.raises(StudentCrash):
        Student(first).call("honest", np.array([1.0]))
    first.close()
