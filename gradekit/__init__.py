"""gradekit: trusted, sandboxed grading of Jupyter notebooks with pytest checks, for nbgrader.

The engine knows nothing about the course it grades. Modules, in the order a grade is made:

- :mod:`gradekit.core.notebook`: read a submission, keep only the statements that define names;
- :mod:`gradekit.sandbox.workers`: start the process that runs student code, with limits
  (:mod:`~gradekit.sandbox.limits`, :mod:`~gradekit.sandbox.isolation`,
  :mod:`~gradekit.sandbox.resources`, :mod:`~gradekit.sandbox.fork_server`), and talk to it
  (:mod:`~gradekit.sandbox.channels`);
- :mod:`gradekit.sandbox.worker`: that process (runs the definitions, answers requests with plain
  data);
- :mod:`gradekit.sandbox.wire`: the plain-data encoding between the two (JSON, arrays without
  pickles);
- :mod:`gradekit.sandbox.submission`: the trusted side's handle on the submission, its load
  report (:mod:`~gradekit.sandbox.loading`) and the student's problems
  (:mod:`~gradekit.sandbox.problems`);
- :mod:`gradekit.sandbox.student`: what a grader calls (``Student``, ``RemoteObject``);
- :mod:`gradekit.checks.pytest_plugin`: ``pytest SUITE --notebook PATH`` runs a check suite against
  it;
- :mod:`gradekit.core.scoring`: check, item and notebook results (dataclasses) and points;
- :mod:`gradekit.checks.grading`: grade one notebook in-process (what nbgrader and the CLI call);
- :mod:`gradekit.nbgrader.hide_hidden_tests`, :mod:`gradekit.nbgrader.sandboxed_execute`,
  :mod:`gradekit.nbgrader.trusted_grades`: the nbgrader steps that execute a notebook confined
  and store the trusted grades (:mod:`gradekit.nbgrader.results`);
- :mod:`gradekit.nbgrader.runtime`: what outlives a notebook (suite sessions, fork servers, the
  grading thread), owned by one ``Runtime`` that is passed in;
- :mod:`gradekit.nbgrader.kernel`: grade one cell inside an instructor's Jupyter kernel;
- :mod:`gradekit.nbgrader.gradebook`: the scores nbgrader's gradebook holds (manual grades
  included);
- :mod:`gradekit.term.report`: a class's results per check (CSV) and what the class got wrong
  (HTML).
"""
