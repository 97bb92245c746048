# Penpress: `make run` serves the site, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000
export PENPRESS_CONFIG ?= development

.PHONY: run test test-sqlite test-postgres compose-proof lint typecheck bench faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependencies change; the package itself is installed editable.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

run: $(STAMP)
	$(BIN)/flask --app penpress init-db --seed-if-empty
	$(BIN)/flask --app penpress run --host 127.0.0.1 --port $(PORT)

# The suite runs twice: on SQLite with in-process cache and rate limits, then on PostgreSQL +
# Redis, which the tests start themselves from the installed binaries (throwaway servers on
# free 127.0.0.1 ports). Without the binaries the second pass is skipped, with the reason
# shown, unless CI is set: then it fails. Coverage adds up over both passes.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres PYTEST_ARGS="--cov-append $(PYTEST_ARGS)"

test-sqlite: $(STAMP)
	@echo "==> tests on SQLite (tests that need PostgreSQL or Redis run in the next pass)"
	PENPRESS_TEST_BACKEND=sqlite $(BIN)/pytest -m "not postgres and not redis" $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "==> tests on PostgreSQL + Redis"
	PENPRESS_TEST_BACKEND=postgres $(BIN)/pytest $(PYTEST_ARGS)

# deploy/compose.yaml end to end on base images built from Debian packages (README: Production).
# Needs root (debootstrap, and dockerd if Docker is not running); part of `make test` too.
compose-proof: $(STAMP)
	$(BIN)/pytest tests/prod/test_compose_stack.py --no-cov -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov

# Load benchmark (bench/run.py, results in BENCHMARKS.md); options pass through BENCH_ARGS,
# e.g. make bench BENCH_ARGS="--posts 100000 --db postgres". Installs wrk when missing.
bench: $(STAMP)
	@command -v wrk >/dev/null || { \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "==> installing wrk (apt-get install wrk)"; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The production stack on this machine (throwaway servers on 127.0.0.1) under a write load
# while PostgreSQL restarts and Redis and SMTP go away; figures in RELIABILITY.md (< 2 min).
faults: $(STAMP)
	$(BIN)/python faults/run.py
