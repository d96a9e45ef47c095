# Two commands: `make run` serves the seeded ledger, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VAR := var
TOKEN_FILE := $(VAR)/admin.token

.PHONY: run test install install-test openapi bench bench-tools clean

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

# npm packages the tests use, pinned by tests/package-lock.json: axe-core (browser tests),
# structured-data-testing-tool (ClaimReview), Spectral, openapi-typescript and tsc (contract tests).
# No install scripts run.
tests/node_modules/.installed: tests/package.json tests/package-lock.json
	@command -v npm >/dev/null || { echo "make install-test needs Node.js and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --prefix tests --ignore-scripts --no-audit --no-fund --silent
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

## make test: install with the test extras and the npm tools, lint, and run the whole suite
test: install-test
	$(BIN)/ruff check --select F,E9,B,I --line-length 120 service tests bench
	$(BIN)/python -m pytest

openapi: install
	$(BIN)/reportedly openapi

## make bench: every benchmark at its quick size; `make bench BENCH_IMPORT_CLAIMS=1000000
## BENCH_SCALE_SIZES="10000 100000 1000000"` for the full sizes
BENCH_IMPORT_CLAIMS ?= 100000
BENCH_SCALE_SIZES ?= 10000 100000
# Alternating wrk runs per HTTP measure: on a machine with neighbours, the bare route's own rate moves by a third
# between the rows of one run, and the median of 5 steadies the ratios.
BENCH_HTTP_ROUNDS ?= 5
bench: install-test bench-tools
	REPORTEDLY_BENCH_DATABASE_URL=$${REPORTEDLY_BENCH_DATABASE_URL-$${REPORTEDLY_TEST_DATABASE_URL-}} $(BIN)/python bench/scale.py $(BENCH_SCALE_SIZES)
	$(BIN)/python bench/world_time.py $(BENCH_SCALE_SIZES)
	$(BIN)/python bench/import_speed.py --claims $(BENCH_IMPORT_CLAIMS)
	$(BIN)/python bench/http_rates.py --rounds $(BENCH_HTTP_ROUNDS)
	$(BIN)/python bench/pg_writers.py
	$(BIN)/python bench/instructions.py

# wrk (Debian) drives the HTTP benchmark, valgrind counts instructions; Datasette, compared with, lives in its own venv, never in ours.
bench-tools:
	@command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	@command -v valgrind >/dev/null || (apt-get update && apt-get install -y valgrind)
	@test -x .venv-bench/bin/datasette || ($(PYTHON) -m venv .venv-bench && .venv-bench/bin/pip install --quiet datasette)

clean:
	rm -rf $(VENV) .venv-bench $(VAR) .pytest_cache .hypothesis tests/node_modules
