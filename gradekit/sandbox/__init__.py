"""Running a student's code: limits, confinement, the fork server, the worker and its wire."""
