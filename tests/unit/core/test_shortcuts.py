"""gradekit.core.shortcuts: following graded names through a notebook's source to forbidden uses.

Small synthetic notebooks (a locked setup cell like a course's, then the student's cells); the
sources are only read, never run, so nothing here imports the libraries they name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gradekit.core.bindings import cell_units
from gradekit.core.shortcuts import Rules, Shortcut, describe, read_definitions
from tests.unit.fixtures.shortcut_notebooks import (
    DYNAMIC,
    FROM_SCRATCH,
    NUMPY,
    SETUP,
    WITH_TORCH,
    notebook,
)


def scan(
    *sources: str,
    names: tuple[str, ...] = ("relu",),
    rules: Rules = FROM_SCRATCH,
    replaced: tuple[str, ...] = (),
) -> list[Shortcut]:
    return read_definitions(notebook(*sources), names).shortcuts(names, rules, replaced)


@dataclass(frozen=True)
class Case:
    sources: tuple[str, ...]
    expected: str = ""  # a phrase of the message; empty: nothing may be found
    names: tuple[str, ...] = ("relu",)
    rules: Rules = FROM_SCRATCH
    replaced: tuple[str, ...] = ()


def case(case_id: str, *sources: str, **options: object) -> object:
    return pytest.param(Case(sources, **options), id=case_id)  # type: ignore[arg-type]


NUMPY_RELU = "def relu(x):\n    return np.maximum(0, x)\n"
NET = "class NeuralNetwork:\n    def forward(self, x):\n        return np.tanh(x)\n"

SHORTCUTS = [
    # -- how the forbidden thing is bound -------------------------------------------------------
    case("call-in-body", "def relu(x):\n    return torch.relu(x)", expected="uses torch.relu"),
    case("assigned-directly", "relu = torch.relu", expected="uses torch.relu"),
    case(
        "rebound-by-a-call-in-a-later-cell",
        "def relu(x):\n    return np.maximum(0, x)",
        "relu = make_relu(torch)",
        expected="uses torch",
    ),
    case(
        "assigned-then-used",
        "act = F.relu\n\ndef relu(x):\n    return act(x)",
        expected="uses torch.nn.functional.relu through act",
    ),
    case(
        "module-aliased",
        "T = torch\n\ndef relu(x):\n    return T.relu(x)",
        expected="uses torch through T",
    ),
    case(
        "from-import-aliased",
        "from torch import relu as r\n\ndef relu(x):\n    return r(x)",
        expected="uses torch.relu",
    ),
    case("graded-name-imported", "from torch import relu", expected="relu is torch.relu"),
    case("star-import", "from torch import *", expected="relu is torch.relu"),
    case(
        "import-inside-function",
        "def relu(x):\n    import torch as t\n    return t.relu(x)",
        expected="imports torch",
    ),
    case(
        "class-body-staticmethod",
        "class NeuralNetwork:\n    forward = staticmethod(torch.sigmoid)",
        names=("NeuralNetwork",),
        expected="uses torch.sigmoid",
    ),
    case(
        "class-attribute-used-by-a-method",
        "class NeuralNetwork:\n    activation = torch.tanh\n\n"
        "    def forward(self, x):\n        return self.activation(x)",
        names=("NeuralNetwork",),
        expected="uses torch.tanh",
    ),
    case(
        "decorator-from-torch",
        "@torch.no_grad()\ndef relu(x):\n    return np.maximum(0, x)",
        expected="uses torch.no_grad",
    ),
    case(
        "decorator-helper-using-torch",
        "def helper(f):\n    return lambda x: torch.relu(x)\n\n@helper\ndef relu(x):\n    return x",
        expected="uses torch.relu through helper",
    ),
    case(
        "default-argument",
        "def relu(x, f=torch.relu):\n    return f(x)",
        expected="uses torch.relu",
    ),
    case(
        "base-class-imported",
        "class NeuralNetwork(MLPClassifier):\n    pass",
        names=("NeuralNetwork",),
        expected="uses sklearn.neural_network.MLPClassifier",
    ),
    case(
        "base-class-dotted",
        "import sklearn.neural_network\n\n"
        "class NeuralNetwork(sklearn.neural_network.MLPClassifier):\n    pass",
        names=("NeuralNetwork",),
        expected="uses sklearn.neural_network.MLPClassifier",
    ),
    case("lambda", "import torch\nrelu = lambda x: torch.relu(x)", expected="uses torch.relu"),
    case(
        "dict-of-functions",
        'ACTIVATIONS = {"relu": torch.relu}\n\ndef relu(x):\n    return ACTIVATIONS["relu"](x)',
        expected="uses torch.relu through ACTIVATIONS",
    ),
    case(
        "helper-object",
        "import types\nops = types.SimpleNamespace(act=F.relu)\n\n"
        "def relu(x):\n    return ops.act(x)",
        expected="uses torch.nn.functional.relu through ops",
    ),
    case(
        "rebound-in-a-later-cell",
        NUMPY_RELU,
        "relu = torch.relu",
        expected="uses torch.relu",
    ),
    case(
        "earlier-binding-not-hidden-by-a-later-one",
        "act = torch.relu",
        "def relu(x):\n    return act(x)",
        "act = np.abs",
        expected="uses torch.relu through act",
    ),
    case(
        "nested-function",
        "def relu(x):\n    def inner(y):\n        return torch.relu(y)\n    return inner(x)",
        expected="uses torch.relu",
    ),
    case(
        "global-bound-inside-a-function",
        "def setup():\n    global act\n    act = torch.relu\n\ndef relu(x):\n    return act(x)",
        expected="uses torch.relu through act",
    ),
    case(
        "in-try-block",
        "try:\n    act = torch.relu\nexcept ImportError:\n    act = None\n\n"
        "def relu(x):\n    return act(x)",
        expected="uses torch.relu through act",
    ),
    case(
        "tuple-unpacking",
        "act, other = torch.relu, np.abs\n\ndef relu(x):\n    return act(x)",
        expected="uses torch.relu through act",
    ),
    case(
        "annotated-assignment",
        "act: object = torch.relu\n\ndef relu(x):\n    return act(x)",
        expected="uses torch.relu through act",
    ),
    case(
        "comprehension-at-module-level",
        "ACTS = [f for f in (torch.relu,)]\n\ndef relu(x):\n    return ACTS[0](x)",
        expected="uses torch.relu through ACTS",
    ),
    case(
        "numpy-patched-by-a-class-body",
        "class Patch:\n    np.maximum = torch.maximum",
        NUMPY_RELU,
        expected="uses torch.maximum through np",
    ),
    case(
        "class-patched-with-setattr-at-load-time",
        NET,
        'class Patch:\n    setattr(NeuralNetwork, "forward", staticmethod(torch.tanh))',
        names=("NeuralNetwork",),
        expected="uses torch.tanh",
    ),
    case(
        "table-changed-through-an-alias",
        "TABLE = {}\nSAME = TABLE",
        'class Patch:\n    SAME["relu"] = torch.relu',
        'def relu(x):\n    return TABLE["relu"](x)',
        expected="uses torch.relu through TABLE",
    ),
    case(
        "replaced-name-captured-at-load-time",
        "relu = torch.relu",
        "class NeuralNetwork:\n    act = staticmethod(relu)",
        names=("NeuralNetwork",),
        replaced=("relu",),
        expected="uses torch.relu through relu",
    ),
    case(
        "reference-imported-in-a-torch-item",
        "from reference_impl import relu as relu_ref\n\n"
        "class PyTorchMLP(nn.Module):\n    def forward(self, x):\n        return relu_ref(x)",
        names=("PyTorchMLP",),
        rules=WITH_TORCH,
        expected="uses reference_impl.relu",
    ),
    case(
        "graders-named-in-a-string",
        "def relu(x):\n    path = 'grader_tests/test_activations.py'\n    return np.maximum(0, x)",
        expected="names grader_tests in a string",
    ),
    # -- dynamic escapes ------------------------------------------------------------------------
    case("eval", "def relu(x):\n    return eval('np.maximum(0, x)')", expected="eval"),
    case("exec", "def relu(x):\n    exec('y = 1')\n    return x", expected="exec"),
    case("compile", "def relu(x):\n    return compile('1', 'f', 'eval')", expected="compile"),
    case("dunder-import", "def relu(x):\n    return __import__('numpy')", expected="__import__"),
    case("open", "def relu(x):\n    open('notes.txt')\n    return x", expected="uses open"),
    case(
        "importlib",
        "import importlib\n\ndef relu(x):\n    return importlib.import_module('numpy')",
        expected="uses importlib.import_module",
    ),
    case(
        "sys-modules",
        "import sys\n\ndef relu(x):\n    return sys.modules['numpy'].maximum(0, x)",
        expected="uses sys.modules",
    ),
    case(
        "sys-modules-imported-by-name",
        "from sys import modules as loaded\n\ndef relu(x):\n    return loaded['numpy']",
        expected="uses sys.modules",
    ),
    case("globals", "def relu(x):\n    return globals()['np'].maximum(0, x)", expected="globals"),
    case("locals", "def relu(x):\n    return locals()['x']", expected="locals"),
    case("vars-without-argument", "def relu(x):\n    return vars()['x']", expected="vars"),
    case("vars-of-a-module", "def relu(x):\n    return vars(np)['maximum'](0, x)", expected="vars"),
    case(
        "getattr-on-a-module-with-a-computed-name",
        "def relu(x):\n    return getattr(np, 'max' + 'imum')(0, x)",
        expected="calls getattr on the module np",
    ),
    case(
        "getattr-with-a-constant-reaching-sys-modules",
        "import sys\n\ndef relu(x):\n    return getattr(sys, 'modules')['numpy']",
        expected="uses sys.modules",
    ),
    case(
        "getattr-passed-around",
        "look = getattr\n\ndef relu(x):\n    return look(np, 'maximum')(0, x)",
        expected="uses getattr, which is passed around",
    ),
    case(
        "subclasses-walk",
        "def relu(x):\n    return ().__class__.__base__.__subclasses__()",
        expected="reads __subclasses__",
    ),
    case(
        "function-globals",
        "def relu(x):\n    return relu.__globals__['np']",
        expected="__globals__",
    ),
    case(
        "builtins-dunder", "def relu(x):\n    return __builtins__['eval']", expected="__builtins__"
    ),
    case(
        "module-dict", "def relu(x):\n    return np.__dict__['maximum'](0, x)", expected="__dict__"
    ),
    case("code-object", "def relu(x):\n    return relu.__code__", expected="__code__"),
    case(
        "frame-walk",
        "import sys\n\ndef relu(x):\n    return sys._getframe(1).f_globals",
        expected="f_globals",
    ),
    case(
        "traceback-frames",
        "def relu(x):\n    try:\n        1 / 0\n    except ZeroDivisionError as e:\n"
        "        return e.__traceback__.tb_frame",
        expected="tb_frame",
    ),
    case("gc", "import gc\n\ndef relu(x):\n    return gc.get_objects()", expected="gc"),
    case("ctypes", "import ctypes\n\ndef relu(x):\n    return ctypes.pythonapi", expected="ctypes"),
    case(
        "inspect",
        "import inspect\n\ndef relu(x):\n    return inspect.currentframe()",
        expected="inspect",
    ),
    case(
        "dunder-named-in-a-string",
        "def relu(x):\n    return getattr(relu, '__glob' 'als__')",
        expected="names __globals__ in a string",
    ),
    case(
        "builtins-module",
        "import builtins\n\ndef relu(x):\n    return builtins.eval('x')",
        expected="uses builtins.eval",
    ),
    case(
        "subprocess",
        "import subprocess\n\ndef relu(x):\n    return subprocess.run(['ls'])",
        expected="runs other programs",
    ),
    case(
        "type-hints-evaluated",
        "import typing\n\ndef relu(x: 'np.ndarray'):\n    return typing.get_type_hints(relu)",
        expected="evaluates annotations as code",
    ),
    case(
        "escape-in-a-helper",
        "def helper(x):\n    return eval('x')\n\ndef relu(x):\n    return helper(x)",
        expected="through helper",
    ),
    case(
        "names-rebound-from-a-class-body",
        NUMPY_RELU,
        'class Registry:\n    globals()["relu"] = torch.relu',
        expected="through class Registry, which can rebind any name",
    ),
    case(
        "object-from-a-call-changed-at-load-time",
        "def numpy_module():\n    return np",
        "class Patch:\n    numpy_module().maximum = torch.maximum",
        NUMPY_RELU,
        expected="uses torch.maximum through class Patch",
    ),
    case(
        "escape-in-a-torch-item",
        "class PyTorchMLP(nn.Module):\n    def forward(self, x):\n        return eval('x')",
        names=("PyTorchMLP",),
        rules=WITH_TORCH,
        expected="eval",
    ),
]

HONEST = [
    case("numpy", NUMPY_RELU),
    case(
        "local-named-nn",
        "def relu(x):\n    nn = x.shape[0]\n    return np.maximum(0, x) + 0 * nn",
    ),
    case(
        "parameter-named-torch",
        "def relu(x, torch=np.maximum):\n    return torch(0, x)",
    ),
    case(
        "attribute-self-nn",
        "class NeuralNetwork:\n    def __init__(self):\n        self.nn = 3\n\n"
        "    def forward(self, x):\n        return x * self.nn",
        names=("NeuralNetwork",),
    ),
    case(
        "comprehension-variables-named-like-modules",
        "def relu(x):\n    a = [nn for nn in x]\n    b = {F: 1 for F in a}\n"
        "    c = sum(torch for torch in a)\n    return np.maximum(0, x)",
    ),
    case("lambda-parameter-named-F", "import numpy as np\nrelu = lambda F: np.maximum(0, F)"),
    case(
        "numpy-aliased-differently",
        "import numpy as npy\n\ndef relu(x):\n    return npy.maximum(0, x)",
    ),
    case("numpy-unaliased", "import numpy\n\ndef relu(x):\n    return numpy.maximum(0, x)"),
    case(
        "helper-shared-by-two-items",
        "def _clip(x):\n    return np.clip(x, -500, 500)\n\n"
        "def relu(x):\n    return np.maximum(0, _clip(x))\n\n"
        "def sigmoid(x):\n    return 1 / (1 + np.exp(-_clip(x)))",
        names=("relu", "sigmoid"),
    ),
    case(
        "functools-decorators",
        "import functools\n\ndef logged(f):\n    @functools.wraps(f)\n"
        "    def wrapper(*args):\n        return f(*args)\n    return wrapper\n\n"
        "@logged\n@functools.lru_cache(maxsize=None)\ndef relu(x):\n    return max(0, x)",
    ),
    case(
        "dataclass",
        "import dataclasses\n\n@dataclasses.dataclass\nclass Config:\n    lr: float = 0.1\n\n"
        "class NeuralNetwork:\n    def __init__(self):\n        self.config = Config()",
        names=("NeuralNetwork",),
    ),
    case(
        "string-annotation-in-a-torch-item",
        "class PyTorchMLP(nn.Module):\n"
        "    def forward(self, x: 'torch.Tensor') -> 'torch.Tensor':\n        return F.relu(x)",
        names=("PyTorchMLP",),
        rules=WITH_TORCH,
    ),
    case(
        "string-annotation-in-a-from-scratch-item",
        "def relu(x: 'torch.Tensor') -> 'np.ndarray':\n    return np.maximum(0, x)",
    ),
    case(
        "local-annotation-naming-torch",
        "def relu(x):\n    y: torch.Tensor = np.maximum(0, x)\n    return y",
    ),
    case(
        "docstring-naming-torch",
        'def relu(x):\n    """Like torch.relu."""\n    return np.maximum(0, x)',
    ),
    case("unused-torch-import-in-the-cell", f"import torch\n\n{NUMPY_RELU}"),
    case(
        "introspection-modules-imported-but-not-used-by-the-item",
        "import ctypes\nimport gc\nimport inspect",
        NUMPY_RELU,
    ),
    case(
        "torch-item-next-to-it",
        NUMPY_RELU,
        "class PyTorchMLP(nn.Module):\n    def forward(self, x):\n"
        "        np.random.seed(0)\n        act = torch.relu\n        return act(x)",
    ),
    case(
        "same-name-local-in-a-torch-function",
        "act = np.abs\n\ndef relu(x):\n    return act(x)",
        "def train_torch(x):\n    act = torch.relu\n    return act(x)",
    ),
    case(
        "replaced-name-called-inside-a-function",
        "relu = torch.relu",
        "def relu_derivative(x):\n    return np.where(relu(x) > 0, 1.0, 0.0)",
        names=("relu_derivative",),
        replaced=("relu",),
    ),
    case(
        "lookups-on-its-own-objects",
        "class NeuralNetwork:\n    def __init__(self, **params):\n"
        "        for key, value in params.items():\n            setattr(self, key, value)\n"
        "        self.names = list(vars(self)) + list(self.__dict__)\n\n"
        "    def get(self, name):\n"
        "        return getattr(self, name) if hasattr(self, name) else None\n\n"
        "    def __repr__(self):\n        return type(self).__name__",
        names=("NeuralNetwork",),
    ),
    case(
        "super-init",
        "class Base:\n    pass\n\nclass NeuralNetwork(Base):\n"
        "    def __init__(self):\n        super().__init__()",
        names=("NeuralNetwork",),
    ),
    case(
        "layer-looked-up-by-name-in-a-torch-item",
        "class PyTorchMLP(nn.Module):\n    def __init__(self, activation):\n"
        "        super().__init__()\n        self.act = getattr(nn, activation)()",
        names=("PyTorchMLP",),
        rules=WITH_TORCH,
    ),
    case("module-named-like-a-forbidden-one", "import torchvision_free as tv\n\nrelu = tv.relu"),
    case("magics-in-the-cell", f"%matplotlib inline\n!ls\n{NUMPY_RELU}"),
    case("syntax-error-in-another-cell", NUMPY_RELU, "def broken(:\n    torch.relu"),
    case("top-level-work-is-not-run", NUMPY_RELU, "act = make_relu(torch)\nprint(globals())"),
]


@pytest.mark.parametrize("example", SHORTCUTS)
def test_shortcut_is_found(example: Case) -> None:
    found = scan(
        *example.sources, names=example.names, rules=example.rules, replaced=example.replaced
    )
    message = describe(found, limit=len(found))
    assert found, "nothing found"
    assert example.expected in message, message


@pytest.mark.parametrize("example", HONEST)
def test_honest_code_is_not_flagged(example: Case) -> None:
    definitions = read_definitions(notebook(*example.sources), example.names)
    unbound = [name for name in example.names if name not in definitions.code]
    assert not unbound, f"the worker would not define {unbound}: the example proves nothing"
    found = definitions.shortcuts(example.names, example.rules, example.replaced)
    assert not found, describe(found)


def test_finding_says_what_where_through_what_and_which_rule() -> None:
    (found,) = scan("act = F.relu", "def relu(x):\n    return act(x)")
    assert found == Shortcut(
        name="relu",
        what="uses torch.nn.functional.relu",
        line=1,
        cell="cell 2 'answer2'",
        rule=NUMPY,
        via=("act",),
    )
    assert str(found) == (
        "relu uses torch.nn.functional.relu through act (line 1 of cell 2 'answer2'): " + NUMPY
    )


def test_instructor_setup_calling_globals_is_not_run_so_not_followed() -> None:
    setup = SETUP + 'import_definitions("01.ipynb", globals(), ["relu"])\n'
    definitions = read_definitions(notebook(NUMPY_RELU, setup=setup), ("relu",))
    assert definitions.shortcuts(("relu",), FROM_SCRATCH) == []


def test_message_groups_lines_and_states_each_rule_once() -> None:
    found = scan("def relu(x):\n    a = torch.relu(x)\n    b = torch.relu(a)\n    return eval('b')")
    assert describe(found) == (
        "relu uses torch.relu (lines 2, 3 of cell 2 'answer2'): " + NUMPY + "; "
        "relu uses eval, which runs code from a string (line 4 of cell 2 'answer2'): " + DYNAMIC
    )


def test_message_shows_a_few_uses_and_counts_the_rest() -> None:
    body = "".join(f"    torch.op{i}(x)\n" for i in range(6))
    found = scan(f"def relu(x):\n{body}")
    assert describe(found, limit=2).endswith(
        f"torch.op1 (line 3 of cell 2 'answer2'): {NUMPY} (and 4 more)"
    )


def test_student_chosen_names_are_capped_in_messages() -> None:
    (found,) = scan(f"def relu(x):\n    return torch.{'a' * 5000}(x)")
    assert len(str(found)) < 300


def test_replaced_names_are_not_followed_where_the_graders_replace_them() -> None:
    sources = ("relu = torch.relu", "def relu_derivative(x):\n    return relu(x)")
    assert scan(*sources, names=("relu_derivative",)) != []
    assert scan(*sources, names=("relu_derivative",), replaced=("relu",)) == []


def test_a_scope_that_symtable_cannot_pair_is_read_conservatively() -> None:
    # Two lambdas on one line: paired in the compiler's order, the local F is not the module.
    units = cell_units("c", "import torch.nn.functional as F\nf, g = (lambda F: F), (lambda: F)")
    read = [(ref.name, ref.line) for unit in units for ref in unit.references]
    assert read == [("F", 2)]


def test_deeply_nested_source_is_not_a_crash() -> None:
    assert cell_units("c", "x = " + "+".join(["a"] * 20000)) == []
