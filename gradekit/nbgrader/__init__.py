"""nbgrader integration: the course, the autograde steps, the gradebook, the kernel."""
