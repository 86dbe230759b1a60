"""gradekit.nbgrader.kernel_sandbox: the Jupyter kernel that executes a submission is confined
too."""

from __future__ import annotations

import ast
import os
import stat
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from gradekit.nbgrader.kernel_sandbox import SandboxedKernelManager
from gradekit.nbgrader.runtime import Runtime
from gradekit.sandbox.isolation import choose_isolation

ROOT = Path(__file__).resolve().parents[2]
#: Whether the kernels run in namespaces here (probed once).
BUBBLEWRAP = choose_isolation().name == "bubblewrap"

PROBE = textwrap.dedent(
    """
    import os, socket
    seen = {"cwd": os.getcwd(), "files": sorted(os.listdir(".")), "uid": os.getuid()}
    for name, path in PATHS.items():
        seen[name] = os.path.exists(path)
    try:
        with open("helper_module.py", "a") as handle:
            handle.write("# changed")
        seen["helper_writable"] = True
    except OSError:
        seen["helper_writable"] = False
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=2)
        seen["network"] = True
    except OSError:
        seen["network"] = False
    import helper_module
    seen["helper_value"] = helper_module.VALUE
    try:
        import gradekit
        seen["kit_importable"] = True
    except ImportError:
        seen["kit_importable"] = False
    print(repr(seen))
    """
)


def _run_cells(folder: Path, *sources: str, runtime: Runtime) -> list[str]:
    """The outputs of ``sources`` run in a kernel forked by ``runtime``'s kernel fork server."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in sources])
    km = SandboxedKernelManager()
    km.servers = runtime.kernels
    client = NotebookClient(nb, km=km, resources={"metadata": {"path": str(folder)}}, timeout=60)
    client.execute()
    return ["".join(out.get("text", "") for out in cell.outputs).strip() for cell in nb.cells]


@pytest.fixture(scope="module")
def seen(tmp_path_factory, runtime) -> dict:
    """What a probe cell sees from inside a kernel started for a submission folder."""
    submission = tmp_path_factory.mktemp("submission")
    (submission / "helper_module.py").write_text("VALUE = 42\n")
    (submission / "student.ipynb").write_text("{}")
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("not for the student")
    (submission / "link_to_secret.txt").symlink_to(outside)  # never followed
    paths = {
        "gradebook": str(ROOT / "gradebook.db"),
        "graders": str(ROOT / "grader_tests"),
        "reference": str(ROOT / "reference_impl"),
        "source": str(ROOT / "source"),
        "submission_folder": str(submission),
    }
    output = _run_cells(submission, f"PATHS = {paths!r}\n{PROBE}\n", runtime=runtime)[0]
    assert output, "the probe printed nothing"
    return ast.literal_eval(output) | {"submission_path": str(submission)}


def test_kernel_sees_the_submission_helpers_read_only(seen):
    assert seen["helper_value"] == 42
    assert "helper_module.py" in seen["files"]


def test_kernel_starts_in_a_throw_away_folder(seen):
    assert seen["cwd"] != seen["submission_path"]
    # Only the submission's files are there, not its links (IPython may add its profile folder).
    assert set(seen["files"]) - {".ipython"} == {"helper_module.py", "student.ipynb"}


@pytest.mark.skipif(not BUBBLEWRAP, reason="bubblewrap is not available here")
@pytest.mark.parametrize(
    "path", ["gradebook", "graders", "reference", "source", "submission_folder"]
)
def test_kernel_cannot_see_the_course(seen, path):
    assert not seen[path], f"the kernel can see the course's {path}"


@pytest.mark.skipif(not BUBBLEWRAP, reason="bubblewrap is not available here")
def test_kernel_cannot_import_the_kit(seen):
    assert not seen["kit_importable"], "the kernel can import gradekit"


@pytest.mark.skipif(not BUBBLEWRAP, reason="bubblewrap is not available here")
def test_kernel_runs_unprivileged_without_network(seen):
    assert seen["uid"] == 65534
    assert not seen["network"]
    assert not seen["helper_writable"]


def test_each_kernel_gets_a_fresh_interpreter_and_home(tmp_path, runtime):
    """Kernels are forked from one preloaded process: nothing of one student's kernel (its home
    and what it wrote there, changed modules, random state) reaches the next one's."""
    leave_traces = textwrap.dedent(
        """
        import os, random, numpy
        os.makedirs("locked/inside")
        open("locked/inside/answers.txt", "w").write("x")
        os.chmod("locked", 0)
        numpy.TAMPERED = True
        print(random.random(), numpy.random.random(), os.getcwd())
        """
    )
    first = _run_cells(tmp_path, leave_traces, runtime=runtime)[0].split()
    look = textwrap.dedent(
        f"""
        import os, random, numpy
        print(os.path.exists({first[2] + "/locked"!r}), hasattr(numpy, "TAMPERED"),
              random.random(), numpy.random.random(), os.listdir())
        """
    )
    second = _run_cells(tmp_path, look, runtime=runtime)[0].split()
    assert second[:2] == ["False", "False"], "the second kernel saw what the first one left"
    assert first[0] != second[2] and first[1] != second[3], "both kernels drew the same numbers"
    assert "'locked'" not in " ".join(second[4:]), "the second kernel's home is not fresh"


@pytest.mark.skipif(not BUBBLEWRAP, reason="bubblewrap is not available here")
def test_a_process_left_running_by_a_kernel_is_gone_before_the_next_kernel(tmp_path, runtime):
    start = (
        "import subprocess\nprint(subprocess.Popen(['sleep', '600'], start_new_session=True).pid)"
    )
    pid = int(_run_cells(tmp_path, start, runtime=runtime)[0])
    check = f"import os\ntry:\n    os.kill({pid}, 0)\n    print('alive')\n"
    check += "except OSError:\n    print('gone')"
    assert _run_cells(tmp_path, check, runtime=runtime) == ["gone"]


def test_endless_printing_is_cut_at_the_output_limit(tmp_path):
    from traitlets.config import Config

    from gradekit.nbgrader.sandboxed_execute import SandboxedExecute

    config = Config()
    config.GradeKit.max_output_mb = 1
    config.Execute.timeout = 120
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("while True:\n    print('x' * 100_000)")]
    )
    executor = SandboxedExecute(config=config)
    started = time.monotonic()
    executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    seconds = time.monotonic() - started
    assert executor.problems == ["outputs beyond 1 MiB were dropped and the cell was interrupted"]
    printed = "".join(output.get("text", "") for output in nb.cells[0].outputs)
    assert "output dropped" in printed and len(printed) <= 1024 * 1024 + 100
    assert seconds < 60, f"the endless cell ran for {seconds:.0f} s instead of being interrupted"


@pytest.mark.parametrize(
    "source",
    [
        "line = 'x' * 1_000_000\nfor _ in range(400):\n    print(line)",
        "print('x' * 300_000_000)",
        "import sys\nfor _ in range(400):\n    sys.stderr.write('x' * 1_000_000)",
    ],
    ids=["many-big-lines", "one-huge-line", "stderr"],
)
def test_kernel_sends_at_most_a_mib_beyond_the_output_limit(tmp_path, source):
    from traitlets.config import Config

    config = Config()
    config.GradeKit.max_output_mb = 1
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    client = NotebookClient(
        nb,
        config=config,
        kernel_manager_class=SandboxedKernelManager,
        resources={"metadata": {"path": str(tmp_path)}},
        timeout=60,
    )
    client.execute()
    sent = sum(len(output.get("text", "")) for output in nb.cells[0].outputs)
    assert 1024 * 1024 < sent <= 2 * 1024 * 1024, f"the kernel sent {sent} characters"


@pytest.mark.skipif(not BUBBLEWRAP, reason="bubblewrap is not available here")
def test_what_a_kernel_leaves_in_the_socket_folder_is_gone_before_the_next_kernel(
    tmp_path, runtime
):
    """The host folder shared for sockets outlives every kernel. Under bubblewrap a kernel sees
    only its own subfolder, and that one becomes read-only once its sockets exist (before any
    cell runs): no file, folder or link of the student's reaches the host. Without bubblewrap,
    what a kernel leaves there (a locked folder, a link to the host) is deleted, never followed,
    before the next student's kernel starts."""
    host = tmp_path / "host-folder"
    host.mkdir(mode=0o755)
    leave = textwrap.dedent(
        f"""
        import os
        from ipykernel import get_connection_file
        own = os.path.dirname(get_connection_file())
        def try_to(action):
            try:
                action()
                return True
            except OSError:
                return False
        wrote = [
            try_to(lambda: open(os.path.join(os.path.dirname(own), "left.txt"), "w")),
            try_to(lambda: os.makedirs(os.path.join(own, "locked", "inside"))),
            try_to(lambda: os.symlink({str(host)!r}, os.path.join(own, "link"))),
        ]
        try_to(lambda: os.chmod(os.path.join(own, "locked"), 0))
        print(sum(wrote), own)
        """
    )
    wrote, own = _run_cells(tmp_path, leave, runtime=runtime)[0].split()
    look = f"import os\nprint(sorted(os.listdir(os.path.dirname({own!r}))))"
    left = ast.literal_eval(_run_cells(tmp_path, look, runtime=runtime)[0])
    assert os.path.basename(own) not in left, f"the next kernel found {left}"
    assert not os.path.exists(own), "the first kernel's socket folder is still on the host"
    assert stat.S_IMODE(host.stat().st_mode) == 0o755, "the host folder's mode changed"
    if BUBBLEWRAP:
        assert len(left) == 1, f"the next kernel sees other kernels' folders: {left}"
        assert wrote == "0", "a kernel wrote into the host's socket folder"
