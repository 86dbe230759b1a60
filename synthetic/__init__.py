"""Synthetic submissions of the MLP course, and copies of the course to grade them in.

Shared by the tests (``tests/``), the benchmark (``bench/``) and ``make samples``; not installed
(like ``bench/``), imported from the repository's root.

- ``banks``: realistic one-bug submissions and alternative correct ones (the instructor's solution
  with small edits), and :func:`banks.student_notebook`, which turns them into handed-in notebooks;
- ``styles``: correct submissions that differ only in module-level code;
- ``attacks`` and ``findings``: hostile and broken submissions, with what each must not achieve;
- ``samples``: the bundled submissions of ``submitted/`` (``make samples`` rewrites them);
- ``courses``: a throw-away copy of the course (configuration, source, chosen submissions,
  graders and reference linked in) with its release generated, and plain ``nbgrader autograde``.
"""
