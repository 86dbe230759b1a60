"""A JupyterLab server on a free loopback port, and headless Chromium, for the end-to-end tests.

The server is started exactly as ``make lab`` starts it (:func:`gradekit.cli.lab.lab_command`), in a
course folder, with Jupyter's per-user state (configuration, runtime files, Lab settings and
workspaces) in a folder of its own so that nothing of the machine's user leaks in or is changed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, expect

from gradekit.cli.lab import lab_command, lab_environment

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "mlp_from_scratch"
#: Screenshots of failed tests and the server's log (git-ignored).
TEST_OUTPUT = ROOT / "test-output"
#: Screenshots of the steps worth showing (``make screenshots`` copies them to docs/screenshots).
SCREENSHOTS = TEST_OUTPUT / "screenshots"
#: The student's working copy of the release, inside the course folder the server shows.
STUDENT_FOLDER = Path("student") / ASSIGNMENT

#: Debian's Chromium; Playwright's own browser download is not used.
CHROMIUM = Path("/usr/bin/chromium")
#: Headless Chromium as root, without the background traffic it would make to Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Lab settings of the test user: no question about news, and every notebook cell in the page
#: (Lab otherwise renders only the cells near the viewport).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
STARTUP_SECONDS = 120.0


@dataclass
class LabServer:
    """A running ``jupyter lab`` serving a course folder.

    Attributes:
        root: The course folder (the server's working folder and file browser root).
        port: The loopback port.
        token: The server's token.
        log: The file that receives the server's output.
    """

    root: Path
    port: int
    token: str
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def url(self, path: str = "lab") -> str:
        """The address of ``path`` on this server, with the token."""
        separator = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}{separator}token={self.token}"

    def start(self, state: Path) -> None:
        """Start the server with its per-user Jupyter state in ``state``; wait until it answers.

        Raises:
            RuntimeError: If the server exits or does not answer within the start-up time.
        """
        env = lab_environment()
        for name, folder in {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "settings",
            "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
            "IPYTHONDIR": "ipython",
        }.items():
            (state / folder).mkdir(parents=True, exist_ok=True)
            env[name] = str(state / folder)
        for name, settings in LAB_SETTINGS.items():
            path = state / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings), encoding="utf-8")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                lab_command(self.root, port=self.port, token=self.token),
                cwd=self.root,  # nbgrader's extensions read nbgrader_config.py from here
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"jupyter lab exited with {code}: see {self.log}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)  # polling interval while the server starts, not a wait for a state
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer in {STARTUP_SECONDS:.0f} s: see {self.log}")

    def stop(self) -> None:
        """Stop the server (and the kernels it started): SIGTERM, then SIGKILL after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # Jupyter shuts its kernels down on SIGTERM
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the server's own process group
            self.process.wait(timeout=10)


def open_lab(page: Page, server: LabServer, *, workspace: str, path: str = "") -> None:
    """Open Lab in a fresh workspace of its own (and the file ``path``, if given)."""
    tree = f"/tree/{path}" if path else ""
    page.goto(server.url(f"lab/workspaces/{workspace}{tree}?reset"))
    expect(page.locator("#jp-main-dock-panel")).to_be_visible()


def shoot(page: Page, name: str) -> None:
    """Save a screenshot of a step worth showing, as ``test-output/screenshots/<name>.png``."""
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
