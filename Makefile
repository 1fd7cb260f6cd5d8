# The two commands of the quick start: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test lint check preview

$(BIN)/wirewatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: $(BIN)/wirewatch  ## start the daemon on config.yaml (Ctrl-C stops it)
	$(BIN)/wirewatch run

# The tests mostly wait on servers, watchers and subprocesses: four workers keep two cores busy.
test: $(BIN)/wirewatch  ## run the test suite
	$(BIN)/pytest -n 4

lint: $(BIN)/wirewatch  ## ruff, mypy, and the imports pointing down the pipeline
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint test

preview: $(BIN)/wirewatch  ## the seeds' digest as PNG at desktop and phone width (needs chromium)
	$(BIN)/python tools/preview.py var/preview
