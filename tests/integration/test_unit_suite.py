"""The engine's unit tests (``tests/unit``) never import torch, scikit-learn or the MLP course,
and run in under a minute: they run in a pytest of their own with ``tests/import_guard.py``.

A second test shows the guard fails a run that imports a forbidden module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.import_guard import FORBIDDEN, MAX_SECONDS, REPORT_ENV

ROOT = Path(__file__).resolve().parents[2]

# Timed: alone, not beside other tests (the second, serial pass of `make test`).
pytestmark = pytest.mark.slow


def run_guarded(
    folder: Path, reports: Path, *options: str, cwd: Path = ROOT
) -> tuple[subprocess.CompletedProcess[str], float, dict[str, dict[str, str]]]:
    """``python -m pytest folder -p tests.import_guard`` in a new process.

    Returns:
        What it printed, its wall time in seconds, and each of its processes (``main``, ``gw0``
        ...) -> forbidden module -> where that process first held it.
    """
    reports.mkdir()
    env = os.environ | {
        REPORT_ENV: str(reports),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
    }
    argv = [sys.executable, "-m", "pytest", str(folder), "-q", "-p", "no:cacheprovider"]
    started = time.monotonic()
    run = subprocess.run(
        [*argv, "-p", "tests.import_guard", *options],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=10 * MAX_SECONDS,
    )
    seconds = time.monotonic() - started
    found = {
        report.stem: json.loads(report.read_text(encoding="utf-8"))["first_seen"]
        for report in reports.glob("*.json")
    }
    return run, seconds, found


def test_the_unit_tests_import_no_course_and_take_under_a_minute(tmp_path):
    # Two at a time, as `make test` runs the independent tests; every process is watched.
    run, seconds, found = run_guarded(ROOT / "tests" / "unit", tmp_path / "reports", "-n", "2")
    assert set(found) == {"main", "gw0", "gw1"}, run.stdout[-3000:]
    assert all(seen == {} for seen in found.values()), f"the unit tests imported: {found}"
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert seconds < MAX_SECONDS, f"tests/unit took {seconds:.0f} s"


def test_the_guard_fails_a_run_that_imports_a_forbidden_module(tmp_path):
    # A stand-in named like the course's reference: the name alone must be caught.
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "reference_impl.py").write_text("VALUE = 1\n", encoding="utf-8")
    tests = tmp_path / "tests_here"
    tests.mkdir()
    (tests / "test_leak.py").write_text(
        "import sys\n\n\n"
        "def test_clean():\n    assert True\n\n\n"
        "def test_leaks():\n"
        f"    sys.path.insert(0, {str(tmp_path / 'fake')!r})\n"
        "    import reference_impl\n\n"
        "    assert reference_impl.VALUE == 1\n",
        encoding="utf-8",
    )
    run, _, found = run_guarded(tests, tmp_path / "reports", cwd=tmp_path)
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    assert "reference_impl" in FORBIDDEN
    where = "by tests_here/test_leak.py::test_leaks"
    assert found == {"main": {"reference_impl": where}}
    assert f"import guard: reference_impl imported ({where})" in run.stdout
