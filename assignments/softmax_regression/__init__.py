"""Softmax regression, the lecture's prerequisite: a second, small assignment graded by the same
engine (source notebook in ``source/softmax_regression/``, graders and reference here)."""
