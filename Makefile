# One command per job; every target works on a fresh clone (the first one creates .venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/lock.txt | sha1sum | cut -c1-12)
DVC_STAMP := $(VENV)/.installed-dvc-$(shell cat pyproject.toml requirements/lock.txt | sha1sum | cut -c1-12)
PG_TEST_URL := postgresql://postgres@127.0.0.1:5432/test

LOAD_HOST ?= http://127.0.0.1:8000
LOAD_USERS ?= 16
LOAD_TIME ?= 30s

.PHONY: setup setup-dvc run test test-fast test-images images lint format bench load clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/lock.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements/lock.txt -e '.[all]'
	@rm -f $(VENV)/.installed-* && touch $@

setup-dvc: $(DVC_STAMP)

$(DVC_STAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements/lock.txt -e '.[all,dvc]'
	@touch $@

run: setup
	$(PY) scripts/run_local.py

# A new clone's `make test` runs what CI runs, nothing skipped: DVC and the system tools the tests use
# (a Docker engine, debootstrap, promtool, Chromium, a JRE) are installed first where missing.
# TEST_DATABASE_URL is exported when the local PostgreSQL answers, so the PostgreSQL variants run.
# The system tools (apt) install while pip installs the project: both are mostly downloads.
test:
	@log=$$(mktemp); bash scripts/install_test_tools.sh > $$log 2>&1 & tools=$$!; \
	$(MAKE) --no-print-directory setup-dvc; built=$$?; \
	wait $$tools; installed=$$?; cat $$log; rm -f $$log; \
	[ $$built -eq 0 ] && [ $$installed -eq 0 ]
	@if [ -z "$$TEST_DATABASE_URL" ] && $(PY) -c "import psycopg2; psycopg2.connect('$(PG_TEST_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		export TEST_DATABASE_URL=$(PG_TEST_URL); echo "PostgreSQL answers: TEST_DATABASE_URL=$(PG_TEST_URL)"; fi; \
	$(PY) -m pytest $(PYTEST_ARGS)

# The three images, from the repo's Dockerfiles on a local stand-in for python:3.11-slim-bookworm
# (BASE_IMAGE=python:3.11-slim-bookworm builds on the official one). Docker's layer cache is reused.
images:
	bash scripts/build_images.sh

# Only the image tests (they build the images themselves); `make test` runs them too.
test-images: setup
	@$(MAKE) --no-print-directory test PYTEST_ARGS="tests/images $(PYTEST_ARGS)"

test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit -c pyproject.toml -q -r ml api app scripts
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Headless Locust against a running API (`make run` first); bounded by LOAD_TIME.
load: setup
	$(VENV)/bin/locust -f bench/locustfile.py --headless --host $(LOAD_HOST) -u $(LOAD_USERS) -r $(LOAD_USERS) \
		-t $(LOAD_TIME) --stop-timeout 10 --only-summary

clean:
	rm -rf .pytest_cache .ruff_cache htmlcov .coverage
