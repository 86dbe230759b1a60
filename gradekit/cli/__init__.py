"""The ``gradekit`` command: options declared here, the work done by the layers below."""
