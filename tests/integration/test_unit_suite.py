"""The guard that keeps the engine's unit tests (``tests/unit``) free of torch, scikit-learn and the
MLP course, and under a minute (``tests/import_guard.py``): it fails a run that imports a
forbidden module, serially and with pytest-xdist's workers.

``make test`` (and ``make test-unit``) runs the unit tests themselves with the guard, first and on
their own: that run fails if they imported such a module or took a minute or more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.import_guard import FORBIDDEN, MAX_SECONDS, REPORT_ENV

ROOT = Path(__file__).resolve().parents[2]
#: A test that imports a stand-in named like the course's reference (the name alone must be
#: caught), and one that imports nothing.
LEAKING_TESTS = (
    "import sys\n\n\n"
    "def test_clean():\n    assert True\n\n\n"
    "def test_leaks():\n"
    "    sys.path.insert(0, {fake!r})\n"
    "    import reference_impl\n\n"
    "    assert reference_impl.VALUE == 1\n"
)


def run_guarded(
    folder: Path, reports: Path, *options: str, cwd: Path = ROOT
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, str]]]:
    """``python -m pytest folder -p tests.import_guard`` in a new process.

    Returns:
        What it printed, and each of its processes (``main``, ``gw0``
        ...) -> forbidden module -> where that process first held it.
    """
    reports.mkdir()
    # Not an xdist worker's variables: this test may run in one, the run it starts is its own.
    outer = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env = outer | {
        REPORT_ENV: str(reports),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
    }
    argv = [sys.executable, "-m", "pytest", str(folder), "-q", "-p", "no:cacheprovider"]
    run = subprocess.run(
        [*argv, "-p", "tests.import_guard", *options],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=10 * MAX_SECONDS,
    )
    found = {
        report.stem: json.loads(report.read_text(encoding="utf-8"))["first_seen"]
        for report in reports.glob("*.json")
    }
    return run, found


def leaking_tests(folder: Path) -> Path:
    """A folder of two tests, one of which imports a stand-in ``reference_impl``."""
    (folder / "fake").mkdir()
    (folder / "fake" / "reference_impl.py").write_text("VALUE = 1\n", encoding="utf-8")
    tests = folder / "tests_here"
    tests.mkdir()
    text = LEAKING_TESTS.format(fake=str(folder / "fake"))
    (tests / "test_leak.py").write_text(text, encoding="utf-8")
    return tests


def test_the_guard_fails_a_run_that_imports_a_forbidden_module(tmp_path):
    run, found = run_guarded(leaking_tests(tmp_path), tmp_path / "reports", cwd=tmp_path)
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    assert "reference_impl" in FORBIDDEN
    where = "by tests_here/test_leak.py::test_leaks"
    assert found == {"main": {"reference_impl": where}}
    assert f"import guard: reference_impl imported ({where})" in run.stdout


def test_the_guard_watches_every_worker_of_a_two_process_run(tmp_path):
    # Two at a time, as `make test` runs the unit tests: the worker that ran the leaking test
    # says so, and the main process fails the run.
    tests = leaking_tests(tmp_path)
    run, found = run_guarded(tests, tmp_path / "reports", "-n", "2", cwd=tmp_path)
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    assert set(found) == {"main", "gw0", "gw1"}, run.stdout[-3000:]
    where = "by tests_here/test_leak.py::test_leaks"
    (leaker,) = [name for name in ("gw0", "gw1") if found[name]]
    assert found[leaker] == {"reference_impl": where}
    assert found["main"] == {"reference_impl": f"{where}, in {leaker}"}
    assert f"import guard: reference_impl imported ({where}, in {leaker})" in run.stdout
