"""Running a term: collecting, grading steps, history, reports, LMS export, status."""
