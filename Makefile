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

# Until the portal exists, `make run` migrates the embedded database, loads the demo accounts (with a simulation
# clock) and prices the example cart with `prorata quote`.
run: $(STAMP)
	$(BIN)/prorata demo
	$(BIN)/prorata quote examples/upgrade-pro-to-business.json

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The persistence tests run on SQLite and on PostgreSQL (started here when it is installed but stopped).
test: lint
	scripts/ensure-postgres
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/quotes.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
