# The two commands a newcomer needs: `make run` and `make test`. Both create the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# `make run` migrates the embedded database, loads the demo accounts (with a simulation clock), prints the demo
# owners' portal sign-in, and serves the portal and the REST API on http://127.0.0.1:8000 until stopped with Ctrl-C.
run: $(STAMP)
	$(BIN)/prorata demo
	$(BIN)/prorata serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The persistence tests run on SQLite and on PostgreSQL: a throwaway server of their own where PostgreSQL is
# installed (scripts/with-test-postgres), else the one PRORATA_TEST_POSTGRES names or the local one; in TEST_WORKERS
# processes at once (pytest-xdist; a process that runs out of tests takes some of the other's, as a few tests take
# minutes and most under a second); `make test TEST_WORKERS=0` runs them in this one.
TEST_WORKERS ?= 2
test: lint
	scripts/ensure-chromium
	scripts/with-test-postgres $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

bench: $(STAMP)
	$(BIN)/python bench/quotes.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
