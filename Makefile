# Bootstraps .venv from pyproject.toml on first use; every target below works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint types unit schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/vsee-gateway serve --sandbox

test: lint types unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy gateway

unit: $(STAMP)
	$(BIN)/pytest

schema: $(STAMP)
	$(BIN)/vsee-gateway schema > schema.graphql

bench: $(STAMP)
	$(BIN)/python benchmarks/transport.py
	$(BIN)/python benchmarks/sandbox_load.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
