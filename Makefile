# The two commands of the quick start: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test lint check preview servers browser bench docs reference

$(BIN)/wirewatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: $(BIN)/wirewatch  ## start the daemon on config.yaml (Ctrl-C stops it)
	$(BIN)/wirewatch run

# The tests mostly wait on servers, watchers and subprocesses: six workers keep two cores
# busy, and the long ones are shared out as they run.
test: $(BIN)/wirewatch servers browser  ## run the test suite
	$(BIN)/pytest -n 6 --dist worksteal

# The tests start a PostgreSQL server of their own from Debian's binaries.
servers:  ## install the servers the tests start, if missing (as root)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y postgresql; \
	else echo "PostgreSQL's server is missing; as root: apt-get update && apt-get install -y postgresql"; exit 1; fi

# The HTML digests are checked, and previewed, in Debian's Chromium (driven by Playwright).
browser:  ## install the browser the tests and the preview open digests in, if missing (as root)
	@test -x /usr/bin/chromium || \
	if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
	else echo "Chromium is missing; as root: apt-get update && apt-get install -y chromium"; exit 1; fi

lint: $(BIN)/wirewatch  ## ruff, mypy, and the imports pointing down the pipeline
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint test

preview: $(BIN)/wirewatch browser  ## the seeds' digest as PNG at desktop and phone width
	$(BIN)/python tools/preview.py var/preview

bench: $(BIN)/wirewatch  ## every row of the performance table, each beside its baseline
	$(BIN)/python bench/run.py

docs: $(BIN)/wirewatch  ## the guide at http://127.0.0.1:8000, rebuilt as you edit it
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

reference: $(BIN)/wirewatch  ## docs/reference/, written again from the parser and the models
	$(BIN)/python tools/reference.py
