"""The engine's unit tests: they run on the tiny course of ``fixtures/tiny_course`` (NumPy only;
the ``tiny_course`` fixture of ``tests/conftest.py``) and never import torch, scikit-learn or the
MLP course (``make test`` runs them with ``tests/import_guard.py``, which fails the run if they
do)."""

#: The tiny course's hidden checks are graded by the tests, not collected as tests.
collect_ignore = ["fixtures"]
