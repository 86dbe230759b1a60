"""The bundled sample submissions in ``submitted/``: who they are and how they are made.

``make samples`` (or ``python -m synthetic.samples``) writes them; ``tests/course/test_samples.py``
checks that the committed files are what this module makes from the current release and source.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from synthetic.banks import BUGS, NB1, NB2, NB3, Variant, release_notebook, student_notebook

ROOT = Path(__file__).resolve().parent.parent
SUBMITTED = ROOT / "submitted"
ASSIGNMENT = "mlp_from_scratch"
NOTEBOOKS = (NB1, NB2, NB3)


def _bug(bug_id: str) -> Variant:
    return next(variant for variant in BUGS if variant.id == bug_id)


#: student -> notebook -> what that student handed in
SAMPLES: dict[str, dict[str, Variant | str | None]] = {
    # Everything done and correct: full autograded marks.
    "alice_complete": {NB1: None, NB2: None, NB3: None},
    # Typical bugs, one per notebook: points lost exactly where the bug is.
    "bob_typical_bugs": {
        NB1: _bug("sigmoid-derivative-of-x"),
        NB2: _bug("nn-backward-without-mean"),
        NB3: _bug("softmax-without-max-shift"),
    },
    # Opened the release and handed it back: 0 points, no crash.
    "carol_empty": {NB1: "release", NB2: "release", NB3: "release"},
    # Notebook 1 done, notebook 2 done, notebook 3 not started.
    "dave_partly_done": {NB1: None, NB2: None, NB3: "release"},
}


def sample_notebook(student: str, notebook: str) -> nbformat.NotebookNode:
    """The notebook ``student`` handed in."""
    what = SAMPLES[student][notebook]
    if what == "release":
        return release_notebook(notebook)
    return student_notebook(what if isinstance(what, Variant) else None, notebook)


def write_samples(root: Path = SUBMITTED) -> list[Path]:
    """Write every sample notebook under ``root/<student>/mlp_from_scratch/``."""
    written = []
    for student, notebooks in SAMPLES.items():
        folder = root / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        for notebook in notebooks:
            path = folder / f"{notebook}.ipynb"
            nbformat.write(sample_notebook(student, notebook), path)
            written.append(path)
    return written


if __name__ == "__main__":
    for path in write_samples():
        print(path.relative_to(ROOT))
