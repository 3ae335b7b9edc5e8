# The two commands a newcomer runs are `make demo` and `make test`; both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench-ledger bench-ingest bench-payout-run bench-reconcile install lock clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Sellerpay needs Python 3.11 or newer"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sellerpay demo

test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

bench-ledger: $(STAMP)
	$(BIN)/sellerpay bench ledger $(BENCH_ARGS)

bench-ingest: $(STAMP)
	$(BIN)/sellerpay bench ingest $(BENCH_ARGS)

bench-payout-run: $(STAMP)
	$(BIN)/sellerpay bench payout-run $(BENCH_ARGS)

bench-reconcile: $(STAMP)
	$(BIN)/sellerpay bench reconcile $(BENCH_ARGS)

# Refresh the constraints file after changing dependencies in pyproject.toml.
lock:
	rm -rf /tmp/sellerpay-lock && $(PYTHON) -m venv /tmp/sellerpay-lock
	/tmp/sellerpay-lock/bin/pip install --quiet '.[dev]'
	/tmp/sellerpay-lock/bin/pip freeze --exclude sellerpay > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis demo-out
