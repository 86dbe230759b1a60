"""Fixtures of the browser tests: a graded copy of the course, JupyterLab serving it, Chromium.

Once per session the course is copied to a temporary folder (the repository's gradebook is never
touched), the release is generated, the bundled submissions are autograded, and the release is
copied to ``student/`` as a student's working copy; then JupyterLab is started there. Every test
gets a fresh browser page; when a test fails, a screenshot of its last step is saved to
``test-output/<test>.png`` (the server's log is ``test-output/jupyterlab.log``). Steps worth
showing are saved to ``test-output/screenshots/`` (``make screenshots`` copies them to
``docs/screenshots/`` after a passing run).
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from gradekit.nbgrader.course import Course
from synthetic.courses import clone_course, free_port
from tests.e2e.lab import (
    ASSIGNMENT,
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    STUDENT_FOLDER,
    TEST_OUTPUT,
    LabServer,
)

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
#: Playwright's time limit for one action or expectation (ms): Lab's first load, on 2 busy cores.
TIMEOUT_MS = 60_000
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture(scope="session", autouse=True)
def chromium_installed() -> None:
    """Fail at once, before the minutes of autograding, when the browser is missing."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make system` installs Debian's chromium"


@pytest.fixture(scope="session")
def e2e_course(tmp_path_factory: pytest.TempPathFactory, nbgrader_course: Course) -> Course:
    """A copy of the course with the release generated and every bundled submission autograded
    (by plain ``nbgrader autograde``, the tests' shared ``nbgrader_course``)."""
    folder = tmp_path_factory.mktemp("lab") / "course"
    course = clone_course(nbgrader_course, folder)
    shutil.copytree(course.path("release", assignment=ASSIGNMENT), folder / STUDENT_FOLDER)
    return course


@pytest.fixture(scope="session")
def lab(e2e_course: Course, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab with nbgrader's extensions, serving the graded course copy."""
    server = LabServer(
        root=e2e_course.root,
        port=free_port(),
        token=secrets.token_hex(16),
        log=TEST_OUTPUT / "jupyterlab.log",
    )
    server.start(state=tmp_path_factory.mktemp("jupyter-state"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        # Playwright gives the browser a fresh temporary profile (user data dir) of its own.
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser page; its screenshot goes to ``test-output/`` if the test fails."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    # Assertions wait as long as actions (their own default, 5 s, is shorter than the
    # formgrader's rendering of a graded notebook on 2 busy cores).
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    yield page
    if request.node.stash.get(_FAILED, False):
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=TEST_OUTPUT / f"{name}.png")
    context.close()
