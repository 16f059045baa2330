# adplan: `make demo` and `make test` work on a fresh machine with Python 3.11 and nothing else.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8
INSTALLED  := $(VENV)/.installed
AIRFLOW_DB := .airflow/airflow.db
PYTEST_ARGS ?=

.PHONY: help install demo test e2e lint format airflow clean browser

help:
	@echo "make demo     generate the sample agency world and run every DAG on the local target"
	@echo "make test     lint and run the test suite"
	@echo "make airflow  start airflow standalone with this project (http://localhost:8080)"
	@echo "make e2e      run the DAGs through airflow standalone's scheduler and REST API"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Everything the project needs comes from the lock file; the package itself is installed editable.
$(INSTALLED): requirements.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(INSTALLED)

$(AIRFLOW_DB): $(INSTALLED)
	$(BIN)/adplan setup

demo: $(AIRFLOW_DB)
	$(BIN)/adplan demo

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Headless Chromium for the browser tests (tests/insights/test_insights_browser.py): Debian's package,
# installed only when it is missing (needs root, as CI runs). The tests fail without it.
CHROMIUM := /usr/bin/chromium

browser:
	@test -x $(CHROMIUM) || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; }

# A module's tests stay on one worker (--dist loadscope): its module-scoped fixtures (a generated world,
# a night of DAG runs) are built once, not once per worker. Modules start in the order tests/conftest.py
# gives them (longest first), not xdist's order by number of tests.
test: lint $(AIRFLOW_DB) browser
	$(BIN)/pytest -n 2 --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

# The scheduler path alone: airflow standalone, the REST API, Asset-triggered runs (also in `make test`).
e2e: $(AIRFLOW_DB)
	$(BIN)/pytest tests/test_scheduler_e2e.py $(PYTEST_ARGS)

airflow: $(AIRFLOW_DB)
	$(BIN)/adplan airflow

clean:
	rm -rf .adplan .airflow
