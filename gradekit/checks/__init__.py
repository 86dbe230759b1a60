"""Running a course's check suite against a submission: the pytest plugin and suite sessions."""
