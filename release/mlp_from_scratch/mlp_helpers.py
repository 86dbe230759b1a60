"""Helpers for the ``mlp_from_scratch`` notebooks: data, plots, tables and loading definitions.

Nothing in here is part of what you implement. The data sets use the parameters of the lecture, the
plots are the lecture's figures in a compact form, and :func:`import_definitions` lets a notebook
reuse what you wrote in an earlier notebook of this assignment (without re-running its training).
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import json
import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "import_definitions",
    "load_circles",
    "load_iris_split",
    "load_moons",
    "plot_datasets",
    "plot_decision_boundary",
    "plot_functions",
    "plot_loss_curves",
    "plot_training_curves",
    "plot_weights",
    "print_table",
    "setup_plotting",
]

CLASS_COLOURS = ("tab:blue", "tab:red", "tab:green")

# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------


def _shuffle_and_add_noise(
    X: np.ndarray, y: np.ndarray, noise: float, random_state: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle the points, add Gaussian noise, and return labels as a column, like scikit-learn."""
    generator = np.random.RandomState(random_state)
    order = np.arange(len(X))
    generator.shuffle(order)
    X = X[order] + generator.normal(scale=noise, size=X.shape)
    return X, y[order].reshape(-1, 1)


def load_moons(
    n_samples: int = 300, noise: float = 0.1, random_state: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's two moons: ``X`` of shape ``(m, 2)`` and labels ``y`` of shape ``(m, 1)``.

    The same points as ``sklearn.datasets.make_moons(n_samples, noise=noise,
    random_state=random_state)`` (the kit's tests check this), written out with NumPy so that the
    first two notebooks start without importing scikit-learn.
    """
    n_out, n_in = n_samples // 2, n_samples - n_samples // 2
    outer = np.linspace(0, np.pi, n_out)
    inner = np.linspace(0, np.pi, n_in)
    X = np.vstack(
        [
            np.append(np.cos(outer), 1 - np.cos(inner)),
            np.append(np.sin(outer), 1 - np.sin(inner) - 0.5),
        ]
    ).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    return _shuffle_and_add_noise(X, y, noise, random_state)


def load_circles(
    n_samples: int = 300, noise: float = 0.1, factor: float = 0.5, random_state: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's concentric circles: ``X`` ``(m, 2)``, labels ``y`` ``(m, 1)`` (1 = inner).

    The same points as ``sklearn.datasets.make_circles(n_samples, noise=noise, factor=factor,
    random_state=random_state)`` (checked by the kit's tests), written out with NumPy.
    """
    n_out, n_in = n_samples // 2, n_samples - n_samples // 2
    outer = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    inner = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack(
        [
            np.append(np.cos(outer), np.cos(inner) * factor),
            np.append(np.sin(outer), np.sin(inner) * factor),
        ]
    ).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    return _shuffle_and_add_noise(X, y, noise, random_state)


def load_iris_split(
    test_size: float = 0.3, random_state: int = 42
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Iris, split as in the lecture (stratified) and standardised with the training statistics.

    Returns ``X_train, X_test, y_train, y_test``: features of shape ``(m, 4)`` and integer class
    ids of shape ``(m,)``.
    """
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    iris = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=test_size, random_state=random_state, stratify=iris.target
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


# ----------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------


def setup_plotting() -> None:
    """Small figures that render quickly (called once by each notebook's setup cell).

    The figures use fixed margins instead of Jupyter's default ``bbox_inches="tight"``, which draws
    every figure twice.
    """
    plt.rcParams.update(
        {
            "figure.dpi": 72,
            "font.size": 9,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "legend.fontsize": 8,
            "figure.subplot.left": 0.07,
            "figure.subplot.right": 0.97,
            "figure.subplot.bottom": 0.14,
            "figure.subplot.top": 0.88,
            "figure.subplot.wspace": 0.25,
            "figure.subplot.hspace": 0.4,
        }
    )
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # not running in Jupyter
        return
    if get_ipython() is not None:
        set_matplotlib_formats("png", bbox_inches=None)


def _axes(ax: Axes | None, figsize: tuple[float, float] = (5.0, 3.6)) -> Axes:
    """The given axes, or the axes of a new single-panel figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        fig.subplots_adjust(left=0.12, bottom=0.16)
    return ax


def _scatter_classes(ax: Axes, X: np.ndarray, y: np.ndarray, size: float = 14) -> None:
    labels = np.asarray(y).reshape(-1)
    for label in np.unique(labels):
        points = X[labels == label]
        colour = CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]
        ax.scatter(
            points[:, 0], points[:, 1], s=size, color=colour, alpha=0.7, label=f"Class {label}"
        )


def plot_datasets(datasets: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """Scatter plots of 2-D data sets side by side: ``{"Moons": (X, y), "Circles": (X, y)}``."""
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 3.6), squeeze=False)
    for ax, (title, (X, y)) in zip(axes[0], datasets.items(), strict=True):
        _scatter_classes(ax, X, y)
        ax.set_title(title)
        ax.legend(loc="best")
    return fig


def plot_decision_boundary(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    title: str = "",
    ax: Axes | None = None,
    resolution: int = 100,
) -> Axes:
    """Shade the regions a binary classifier assigns to class 0 and class 1, with the data on top.

    ``model`` is either an object with ``predict(X) -> (m, 1)`` labels (your models) or a callable
    that maps an ``(m, 2)`` array to labels or class-1 probabilities (e.g. a small wrapper around a
    PyTorch model). The boundary is drawn where the output crosses 0.5.
    """
    predict: Callable[[np.ndarray], Any] = model.predict if hasattr(model, "predict") else model
    ax = _axes(ax)
    x_min, x_max = X[:, 0].min() - 0.5, X[:, 0].max() + 0.5
    y_min, y_max = X[:, 1].min() - 0.5, X[:, 1].max() + 0.5
    xx, yy = np.meshgrid(
        np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution)
    )
    grid = np.c_[xx.ravel(), yy.ravel()]
    Z = np.asarray(predict(grid), dtype=float).reshape(xx.shape)
    ax.contourf(xx, yy, Z, levels=[-0.01, 0.5, 1.01], colors=["tab:blue", "tab:red"], alpha=0.2)
    if Z.min() < 0.5 <= Z.max():
        ax.contour(xx, yy, Z, levels=[0.5], colors="black", linewidths=1)
    _scatter_classes(ax, X, y, size=10)
    ax.set_title(title)
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    return ax


def plot_training_curves(
    histories: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    axes: Sequence[Axes] | None = None,
) -> Sequence[Axes]:
    """Loss and accuracy per epoch, one line per model: ``{"name": (losses, accuracies)}``."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9.5, 3.2))
    loss_ax, acc_ax = axes[0], axes[1]
    for name, (losses, accuracies) in histories.items():
        loss_ax.plot(losses, label=name, linewidth=1.5, alpha=0.8)
        acc_ax.plot(accuracies, label=name, linewidth=1.5, alpha=0.8)
    loss_ax.set(xlabel="Epoch", ylabel="Loss", title="Training loss")
    acc_ax.set(xlabel="Epoch", ylabel="Accuracy (%)", title="Training accuracy")
    if len(histories) > 1:
        loss_ax.legend()
        acc_ax.legend()
    return axes


def plot_loss_curves(
    curves: Mapping[str, Sequence[float]], title: str = "", ax: Axes | None = None
) -> Axes:
    """Several loss curves in one panel (the practice experiments): ``{"label": losses}``."""
    ax = _axes(ax, figsize=(6.0, 3.0))
    for label, losses in curves.items():
        ax.plot(losses, label=label, linewidth=1.5, alpha=0.85)
    ax.set(xlabel="Epoch", ylabel="Loss", title=title)
    ax.legend()
    return ax


def plot_functions(
    functions: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    title: str = "",
    x_range: tuple[float, float] = (-5.0, 5.0),
) -> Figure:
    """Plot element-wise functions (activations or their derivatives) side by side."""
    x = np.linspace(x_range[0], x_range[1], 401)
    fig, axes = plt.subplots(1, len(functions), figsize=(3.1 * len(functions), 2.8), squeeze=False)
    for ax, (name, function) in zip(axes[0], functions.items(), strict=True):
        ax.plot(x, function(x), linewidth=2)
        ax.axhline(0, color="black", linewidth=0.6, alpha=0.5)
        ax.axvline(0, color="black", linewidth=0.6, alpha=0.5)
        ax.set_title(name)
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(top=0.78 if title else 0.88, wspace=0.3)
    return fig


def plot_weights(before: Sequence[np.ndarray], after: Sequence[np.ndarray] | None = None) -> Figure:
    """Show each layer's weight matrix as an image (rows: inputs, columns: neurons).

    With ``after``, the first row shows the weights before and the second row after training, on the
    same colour scale per layer so that the two can be compared.
    """
    rows = [("before training", before)] + (
        [("after training", after)] if after is not None else []
    )
    n_layers = len(before)
    fig, axes = plt.subplots(
        len(rows), n_layers, figsize=(2.6 * n_layers + 0.6, 2.3 * len(rows)), squeeze=False
    )
    for layer in range(n_layers):
        limit = max(float(np.abs(weights[layer]).max()) for _, weights in rows) or 1.0
        for row, (label, weights) in enumerate(rows):
            ax = axes[row][layer]
            image = ax.imshow(
                weights[layer], cmap="coolwarm", vmin=-limit, vmax=limit, aspect="auto"
            )
            ax.set_title(f"W{layer + 1} {weights[layer].shape}, {label}", fontsize=8)
            ax.grid(False)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(image, ax=[axes[row][layer] for row in range(len(rows))], shrink=0.8)
    return fig


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
    """Print a small aligned table; floats are shown with two decimals."""
    cells = [
        [f"{value:.2f}" if isinstance(value, float) else str(value) for value in row]
        for row in rows
    ]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "-" * (sum(widths) + 3 * (len(widths) - 1))
    if title:
        print(title)
    print(" | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print(line)
    for row in cells:
        print(" | ".join(value.ljust(w) for value, w in zip(row, widths, strict=True)).rstrip())


# ----------------------------------------------------------------------------------------------
# Reusing definitions from another notebook of the assignment
# ----------------------------------------------------------------------------------------------

_LOADING: list[Path] = []  # notebooks being loaded right now (guards against import cycles)


def _is_test_cell(cell: Mapping[str, Any]) -> bool:
    """An autograder test cell (graded, not written by the student): never a definition."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def _is_stub(node: ast.stmt) -> bool:
    """Whether a ``def``/``class`` still contains a ``raise NotImplementedError`` placeholder."""
    for child in ast.walk(node):
        if isinstance(child, ast.Raise) and child.exc is not None:
            exc = child.exc.func if isinstance(child.exc, ast.Call) else child.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


def _loading_rule() -> ModuleType:
    """``loading_rule.py`` next to this file: the loading rule the grading uses, too."""
    if "loading_rule" not in sys.modules:
        path = Path(__file__).with_name("loading_rule.py")
        spec = importlib.util.spec_from_file_location("loading_rule", path)
        assert spec is not None and spec.loader is not None, f"{path} is missing"
        module = importlib.util.module_from_spec(spec)
        sys.modules["loading_rule"] = module
        spec.loader.exec_module(module)
    return sys.modules["loading_rule"]


def _code_cells(cells: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(label, source)`` of every code cell that is not a test cell."""
    found = []
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code" or _is_test_cell(cell):
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
        found.append((f"cell {number} ({first_line[:40]!r})", text))
    return found


def import_definitions(
    notebook_filename: str, namespace: MutableMapping[str, Any], names: Sequence[str]
) -> list[str]:
    """Load ``names`` defined in another notebook of this assignment into ``namespace``.

    What runs is what the grading runs (``loading_rule.py``): every top-level ``import``,
    ``def`` and ``class`` of the notebook, and every other statement that sets or changes
    something ``names`` use (a module-level constant, a dictionary of functions, a random
    generator, ...), including the notebook's own ``import_definitions(...)`` lines that load
    them. No training, printing or plotting runs, and autograder test cells are skipped.
    Problems (a missing file, a syntax error, a statement that fails, a missing name, a function
    that is not implemented yet) are printed and never stop the notebook that asks. Returns the
    names that were loaded.

    Typical use in a setup cell: ``import_definitions("01_....ipynb", globals(), ["relu"])``.
    """
    path = Path(notebook_filename).resolve()
    label = Path(notebook_filename).name
    # A nested load (a notebook loading from a notebook) stays quiet: the notebook that asks reports
    # the problems of the notebooks it loads from itself.
    nested = bool(_LOADING)

    def report(message: str) -> None:
        if not nested:
            print(f"[import_definitions] {message}")

    if path in _LOADING:
        return []
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except FileNotFoundError:
        report(
            f"{label} was not found in {path.parent}. Keep all notebooks of the assignment in one "
            f"folder; cells that use {', '.join(names)} will fail until then."
        )
        return []
    except (OSError, ValueError, KeyError, TypeError) as err:
        report(f"{label} could not be read as a notebook ({err}).")
        return []

    plans = _loading_rule().plan_cells(_code_cells(cells), names, loaders=["import_definitions"])
    scratch: dict[str, Any] = {"__name__": path.stem, "__builtins__": builtins}
    stubs: set[str] = set()
    _LOADING.append(path)
    try:
        for plan in plans:
            if plan.syntax_error:
                report(f"{label}, {plan.key}: syntax error: {plan.syntax_error}; skipped")
                continue
            for node in ast.parse(plan.source).body:
                if isinstance(node, ast.FunctionDef | ast.ClassDef) and _is_stub(node):
                    stubs.add(node.name)
                else:
                    stubs.discard(getattr(node, "name", ""))
                code = compile(
                    ast.Module(body=[node], type_ignores=[]), f"<{label} {plan.key}>", "exec"
                )
                try:
                    exec(code, scratch)
                except Exception as err:
                    error = f"{type(err).__name__}: {err}"
                    report(f"{label}, {plan.key}, line {node.lineno}: {error}")
    finally:
        _LOADING.pop()

    loaded = [name for name in names if name in scratch]
    for name in loaded:
        namespace[name] = scratch[name]
    missing = [name for name in names if name not in scratch]
    unfinished = [name for name in loaded if name in stubs]
    if missing:
        report(f"not defined in {label}: {', '.join(missing)}")
    if unfinished:
        report(f"not implemented yet in {label}: {', '.join(unfinished)}")
    if not nested:
        print(f"Loaded from {label}: {', '.join(loaded) if loaded else 'nothing'}")
    return loaded
