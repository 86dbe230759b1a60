# Everything installs into .venv from the pinned requirements.txt; no system Python packages used.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader runs its own helper commands (alembic) by name: the venv's bin must come first.
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv release demo test test-fast lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed  ## create the virtual environment from the pinned requirements

release: venv  ## regenerate release/ from source/ (hidden-check counts first)
	$(BIN)/gradekit release

demo: venv  ## regenerate the release, autograde the bundled submissions, print the scores
	$(BIN)/gradekit demo

test: venv  ## the whole test suite (slow end-to-end tests included)
	$(BIN)/python -m pytest

test-fast: venv  ## the test suite without the slow end-to-end tests
	$(BIN)/python -m pytest -m "not slow"

lint: venv  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:  ## remove generated grading state (not the venv)
	rm -rf gradebook.db feedback reports exports
	find autograded -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
