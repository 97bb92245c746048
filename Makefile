# Penpress: `make run` serves the site, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two install levels, each remembered by a stamp: `make run` needs the package and its runtime
# dependencies only; the test, lint and type-check targets add the development tools. The full
# install satisfies the runtime one too, so going back and forth installs nothing again.
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
# tools/install.py installs with uv (pinned in constraints.txt, set up from pip's own index
# configuration) and falls back to pip; PENPRESS_INSTALLER=pip uses pip only.
INSTALL := $(BIN)/python tools/install.py
COVERAGE := --cov=penpress --cov-report=term-missing:skip-covered
# The suite runs on every core (pytest-xdist), each test file whole on one worker, so a file's
# module-wide servers start once; each worker has its own database, and on the PostgreSQL pass
# its own throwaway PostgreSQL and Redis. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= auto
XDIST := -n $(PYTEST_WORKERS) --dist loadfile
PORT ?= 5000
export PENPRESS_CONFIG ?= development

.PHONY: run test test-fast test-sqlite test-postgres compose-proof lint typecheck bench faults lock clean

$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)

# Reinstall only when the dependencies change; the package itself is installed editable.
$(RUN_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(INSTALL)
	touch $@

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(INSTALL) --dev
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/flask --app penpress init-db --seed-if-empty
	$(BIN)/flask --app penpress run --host 127.0.0.1 --port $(PORT)

# The suite runs twice: on SQLite with in-process cache and rate limits, then on PostgreSQL +
# Redis, which the tests start themselves from the installed binaries (throwaway servers on
# free 127.0.0.1 ports). Without the binaries the second pass is skipped, with the reason
# shown, unless CI is set: then it fails. Coverage adds up over both passes.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(MAKE) --no-print-directory test-sqlite PYTEST_ARGS="$(COVERAGE) $(PYTEST_ARGS)"
	$(MAKE) --no-print-directory test-postgres PYTEST_ARGS="$(COVERAGE) --cov-append $(PYTEST_ARGS)"

# The edit-test loop: one database (SQLite), no browser, no fuzzing, nothing marked slow, no
# coverage.
test-fast: $(STAMP)
	PENPRESS_TEST_BACKEND=sqlite $(BIN)/pytest $(XDIST) -m "not postgres and not redis and not slow" \
		--ignore=tests/e2e --ignore=tests/api/v1/test_schemathesis.py \
		--ignore=tests/api/realworld/test_fuzz.py $(PYTEST_ARGS)

test-sqlite: $(STAMP)
	@echo "==> tests on SQLite (tests that need PostgreSQL or Redis run in the next pass)"
	PENPRESS_TEST_BACKEND=sqlite $(BIN)/pytest $(XDIST) -m "not postgres and not redis" $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "==> tests on PostgreSQL + Redis (the any_database matrices and the browser tests ran on SQLite)"
	PENPRESS_TEST_BACKEND=postgres $(BIN)/pytest $(XDIST) -m "not any_database" \
		--ignore=tests/e2e $(PYTEST_ARGS)

# deploy/compose.yaml end to end on base images built from Debian packages (README: Production).
# Needs root (debootstrap, and dockerd if Docker is not running); part of `make test` too.
compose-proof: $(STAMP)
	$(BIN)/pytest tests/prod/test_compose_stack.py --no-cov -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Regenerate constraints.txt from pyproject.toml, keeping the current pins (a new dependency gets
# the newest version that fits); `make lock UPGRADE=1` moves every pin to the newest.
lock: | $(BIN)/python
	$(INSTALL) --lock $(if $(UPGRADE),--upgrade)

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
