# Bootstraps .venv from pyproject.toml on first use; every target below works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# GraphiQL's assets, installed from the npm registry at the versions web/package-lock.json pins.
WEB_STAMP := web/node_modules/.package-lock.json
# The peers bench-peers measures the gateway against, at the versions benchmarks/peers pins.
PEERS_STAMP := benchmarks/peers/node_modules/.package-lock.json

.PHONY: run test lint types unit schema bench bench-peers clean

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

bench: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/transport.py --markdown benchmarks/RESULTS.md
	$(BIN)/python benchmarks/run.py --markdown benchmarks/RESULTS.md --chart benchmarks/latency.png
	$(BIN)/python benchmarks/sandbox_load.py

$(PEERS_STAMP): benchmarks/peers/package-lock.json
	cd benchmarks/peers && npm ci --no-audit --no-fund
	touch $(PEERS_STAMP)

# The gateway side by side with Apollo Server and Hive Gateway (minutes; not part of `test`).
bench-peers: $(STAMP) $(PEERS_STAMP)
	$(BIN)/python benchmarks/peers.py --markdown benchmarks/RESULTS.md

clean:
	rm -rf $(VENV) web/node_modules benchmarks/peers/node_modules .mypy_cache .ruff_cache .pytest_cache
