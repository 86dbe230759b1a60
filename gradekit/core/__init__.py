"""The notebook model and rules that need no process: cells, definitions, scoring, disclosure."""
