# Everything installs into .venv from the pinned requirements.txt; no system Python packages used.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader runs its own helper commands (alembic) by name: the venv's bin must come first.
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

# Debian packages: the kit needs only bubblewrap, which confines student code (without it:
# rlimits only). The tests also need chromium, the headless browser of the JupyterLab tests
# (driven by Playwright, which never downloads a browser of its own here), and postgresql (the
# gradebook tests on a server database).
DEBIAN_PACKAGES := bubblewrap
TEST_PACKAGES := chromium postgresql
# `make lab` serves on 127.0.0.1:$(LAB_PORT).
LAB_PORT ?= 8888

.PHONY: help system system-test install-debian venv release samples demo lab test test-fast test-unit e2e screenshots bench lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed system  ## create the virtual environment from the pinned requirements

# A removed package whose configuration files remain is known to dpkg: its status must be checked.
system:  ## install the Debian packages the kit needs (needs root and apt-get; skipped when present)
	@$(MAKE) --no-print-directory install-debian PACKAGES="$(DEBIAN_PACKAGES)"

system-test:  ## install the Debian packages the tests also need (chromium, postgresql)
	@$(MAKE) --no-print-directory install-debian PACKAGES="$(DEBIAN_PACKAGES) $(TEST_PACKAGES)"

install-debian:
	@missing=$$(for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else echo "warning: cannot install $$missing (not root): without bubblewrap student code runs with rlimits only, without chromium the JupyterLab tests fail, without postgresql its gradebook tests are skipped"; fi; \
	fi

release: venv  ## regenerate release/ from source/ (hidden-check counts first)
	$(BIN)/gradekit release

# The bundled submissions (alice complete, bob with typical bugs, carol empty, dave half done) are
# made from the release and the instructor's solutions (synthetic/samples.py): rewrite them after
# either changes (tests/course/test_samples.py fails until then).
samples: release  ## rewrite submitted/ (the bundled sample submissions) from the current release
	$(BIN)/python -m synthetic.samples

demo: venv  ## regenerate the release, autograde the bundled submissions, print the scores
	$(BIN)/gradekit demo

lab: release  ## JupyterLab for this course (formgrader, Validate) on 127.0.0.1:$(LAB_PORT); prints the token
	$(BIN)/gradekit lab --port $(LAB_PORT)

# First the engine's unit tests on their own, with the import guard (as `make test-unit`); then
# the other independent tests and the bank two at a time; then the slow end-to-end tests two at a
# time, a file's tests in one process (they share its module-scoped gradings; `--dist loadgroup`
# would not do: pytest-xdist 3.8 cannot rename pytest 9's test ids, so its groups are ignored);
# last, one after the other with nothing beside them, the slow tests that measure wall time.
test: venv system-test  ## the whole test suite (slow end-to-end tests included)
	$(BIN)/python -m pytest -n 2 tests/unit -p tests.import_guard
	$(BIN)/python -m pytest -n 2 -m "not slow or bank" --ignore=tests/unit
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "slow and not bank and not timed"
	$(BIN)/python -m pytest -m "slow and timed"

test-fast: venv  ## the test suite without the slow end-to-end tests and the bank
	$(BIN)/python -m pytest -m "not slow"

# The engine's unit tests, with the guard that fails the run if it imported torch, scikit-learn or
# the MLP course, or took a minute or more.
test-unit: venv  ## the engine's unit tests only (tests/unit: tiny course, no torch; under a minute)
	$(BIN)/python -m pytest -n 2 tests/unit -p tests.import_guard

e2e: venv system-test  ## the JupyterLab tests only (student Validate, instructor formgrader) in headless Chromium
	$(BIN)/python -m pytest -m e2e

screenshots: e2e  ## the JupyterLab tests, then their step screenshots copied to docs/screenshots
	cp test-output/screenshots/*.png docs/screenshots/

# The class-scale benchmark (28 min here with N=200): N submissions, SAMPLE of them for the
# floor and the kit with 1 and 2 jobs.
N ?= 200
SAMPLE ?= 20
bench: venv  ## measure the floor, the kit serially and with 2 jobs, grades-only (bench/results.md)
	$(BIN)/python -m bench.benchmark --submissions $(N) --sample $(SAMPLE)

lint: venv  ## ruff, mypy and import-linter (the engine's layers)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:  ## remove generated grading state (not the venv)
	rm -rf gradebook.db feedback reports exports test-output
	find autograded -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
