"""Further assignments of the course, each with its graders and reference beside it."""
