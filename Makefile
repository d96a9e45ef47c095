# Two commands: `make run` serves the seeded ledger, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VAR := var
TOKEN_FILE := $(VAR)/admin.token

.PHONY: run test install install-test openapi bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

# npm packages the browser tests inject (axe-core), pinned by tests/package-lock.json.
tests/node_modules/.installed: tests/package.json tests/package-lock.json
	npm ci --prefix tests --no-audit --no-fund --silent
	touch $@

install-test: $(VENV)/.installed-test tests/node_modules/.installed

## make run: install, migrate, seed once, make an admin token file, serve on 127.0.0.1:8000
run: install
	@mkdir -p $(VAR)
	$(BIN)/reportedly migrate
	$(BIN)/reportedly seed seeds
	@if [ ! -s $(TOKEN_FILE) ]; then \
		umask 077; \
		$(BIN)/reportedly keys create --name "admin-$$(date +%Y%m%d%H%M%S)" --scope admin | tail -n 1 > $(TOKEN_FILE); \
	fi
	@echo "Admin token: $(abspath $(TOKEN_FILE))   (curl -H \"Authorization: Bearer \$$(cat $(TOKEN_FILE))\" ...)"
	$(BIN)/reportedly serve

## make test: install with the test extras, lint, and run the whole suite
test: install-test
	$(BIN)/ruff check --select F,E9,B,I --line-length 120 service tests bench
	$(BIN)/python -m pytest

openapi: install
	$(BIN)/reportedly openapi

bench: install-test
	REPORTEDLY_BENCH_DATABASE_URL=$${REPORTEDLY_BENCH_DATABASE_URL-$${REPORTEDLY_TEST_DATABASE_URL-}} $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(VAR) .pytest_cache .hypothesis tests/node_modules
