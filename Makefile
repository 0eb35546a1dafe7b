# Bootstraps .venv from pyproject.toml on first use; every target below works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# GraphiQL's assets, installed from the npm registry at the versions web/package-lock.json pins.
WEB_STAMP := web/node_modules/.package-lock.json

.PHONY: run test lint types unit schema manifest bench chaos clean

# The sandbox upstream is its own distribution (sandbox/), installed beside the gateway here
# and never part of the gateway's wheel or production image.
$(STAMP): pyproject.toml sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e './sandbox[test]'
	touch $(STAMP)

$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

run: $(STAMP) $(WEB_STAMP)
	$(BIN)/vsee-gateway serve --sandbox

test: lint types unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy gateway sandbox/vsee_sandbox

unit: $(STAMP) $(WEB_STAMP)
	$(BIN)/pytest
	cd sandbox && ../$(BIN)/pytest

schema: $(STAMP)
	$(BIN)/vsee-gateway schema > schema.graphql

manifest: $(STAMP)
	$(BIN)/vsee-gateway manifest --operations operations --output operations/manifest.json

bench: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/transport.py --markdown benchmarks/RESULTS.md
	$(BIN)/python benchmarks/run.py --markdown benchmarks/RESULTS.md --chart benchmarks/latency.png
	$(BIN)/python benchmarks/sandbox_load.py

# Five minutes of mixed reads and keyed writes against a sandbox faulting 10% of calls; not part
# of `make test`. Shorter: `make chaos CHAOS_SECONDS=30`.
CHAOS_SECONDS ?= 300
chaos: $(STAMP)
	$(BIN)/python benchmarks/chaos.py --seconds $(CHAOS_SECONDS)

clean:
	rm -rf $(VENV) web/node_modules .mypy_cache .ruff_cache .pytest_cache
