# Bootstraps .venv from pyproject.toml on first use; every target below works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs only what running needs (the gateway's runtime dependencies and the
# sandbox); `make test` adds the dev extras on top, in the same venv.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
# web/node_modules with the dev tools the tests drive (graphql-http, playwright-core). A file of
# our own: `npm ci --omit=dev` (make run) wipes node_modules, and with it this stamp.
WEB_STAMP := web/node_modules/.installed-dev
# tools/node_modules: the client-side schema checks (codegen + tsc, graphql-schema-linter,
# GraphQL Inspector, Apollo Client 4) that tests/tools runs; pinned by tools/package-lock.json.
TOOLS_STAMP := tools/node_modules/.installed
# checkov has its own venv: its pins must not decide the gateway's dependency versions.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# make run PORT=9000 (or VSEE_GATEWAY_PORT=9000 make run)
PORT ?=
# The peers bench-peers measures the gateway against, at the versions benchmarks/peers pins.
PEERS_STAMP := benchmarks/peers/node_modules/.package-lock.json

.PHONY: run test lint types unit checkov schema manifest bench bench-peers bench-subscriptions chaos wheel clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The sandbox upstream is its own distribution (sandbox/), installed beside the gateway here
# and never part of the gateway's wheel or production image.
$(RUN_STAMP): pyproject.toml sandbox/pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e . -e ./sandbox
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml sandbox/pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e './sandbox[test]'
	touch $(RUN_STAMP) $(STAMP)

$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

$(TOOLS_STAMP): tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund
	touch $(TOOLS_STAMP)

# GraphiQL's files: just the 4 pinned npm tarballs (about 7 MB, not the 100+ MB of GraphiQL's
# build dependencies), checked against web/package-lock.json and unpacked into web/graphiql-files
# by web/graphiql_files.py. npm fetches them only when they are not in its cache already. The API
# needs none of it, so without Node (or if npm fails) the gateway still starts, and its banner
# says GraphiQL is off.
GRAPHIQL_FILES := web/graphiql-files
run: $(RUN_STAMP)
	@if [ $(GRAPHIQL_FILES)/manifest.json -nt web/package-lock.json ]; then :; \
	elif $(BIN)/python web/graphiql_files.py $(GRAPHIQL_FILES) 2>/dev/null; then :; \
	elif command -v npm >/dev/null 2>&1; then \
	    echo "Fetching GraphiQL's pinned npm packages (about 7 MB)"; \
	    (cd web && npm cache add $$(../$(BIN)/python graphiql_files.py --specs)) \
	        && $(BIN)/python web/graphiql_files.py $(GRAPHIQL_FILES) \
	        || echo "Fetching GraphiQL failed: it stays off; the GraphQL API works without it"; \
	else \
	    echo "npm not found: GraphiQL stays off (it needs Node 20+); the GraphQL API works without it"; \
	fi
	$(BIN)/vsee-gateway serve --sandbox $(if $(PORT),--port $(PORT))

test: lint types unit checkov

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy gateway sandbox/vsee_sandbox

unit: $(STAMP) $(WEB_STAMP) $(TOOLS_STAMP)
	$(BIN)/pytest
	cd sandbox && ../$(BIN)/pytest

$(CHECKOV_STAMP): deploy/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r deploy/checkov-requirements.txt
	touch $(CHECKOV_STAMP)

# Static analysis of deploy/ (Dockerfile, Kubernetes manifests, compose): every finding fails,
# except the ones deploy/.checkov.yaml skips, each with its reason there.
checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --config-file deploy/.checkov.yaml

schema: $(STAMP)
	$(BIN)/vsee-gateway schema > schema.graphql

manifest: $(STAMP)
	$(BIN)/vsee-gateway manifest --operations operations --output operations/manifest.json

# The product: sdist and wheel (GraphiQL inside) in dist/; needs web/ installed by npm ci.
wheel: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m build --no-isolation --outdir dist .

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

# 1,000 subscriptions on one worker: memory per subscription, polls/s against VSee, event
# latency (about 2 minutes; not part of `test`); writes benchmarks/RESULTS.md.
bench-subscriptions: $(STAMP)
	$(BIN)/python benchmarks/subscriptions.py --markdown benchmarks/RESULTS.md

$(PEERS_STAMP): benchmarks/peers/package-lock.json
	cd benchmarks/peers && npm ci --no-audit --no-fund
	touch $(PEERS_STAMP)

# The gateway side by side with Apollo Server and Hive Gateway (minutes; not part of `test`).
bench-peers: $(STAMP) $(PEERS_STAMP)
	$(BIN)/python benchmarks/peers.py --markdown benchmarks/RESULTS.md

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) web/node_modules tools/node_modules tools/generated benchmarks/peers/node_modules $(GRAPHIQL_FILES) dist .mypy_cache .ruff_cache .pytest_cache
