# One virtual environment at .venv; each install step is skipped when its stamp is newer than
# pyproject.toml. torch is installed first, from the CPU build on this machine's disk.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DATA_DIR ?= .genai-stack
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help install install-dev demo ingest serve test lint format synth bench fuzz clean checkov widget widget-budget e2e-deps

help:
	@echo "make demo   - install, build the widget, ingest data/sample_kb, serve the demo store page on http://$(HOST):$(PORT)/"
	@echo "make test   - install everything, lint (ruff, mypy) and run every test"
	@echo "make synth  - synthesize the CDK stack into cdk.out/ (cdk-nag and cfn-lint included)"
	@echo "make bench  - run the benchmarks and write docs/BENCHMARKS.md"
	@echo "make fuzz   - schemathesis (--checks all) against a local server on data/sample_kb"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.torch: | $(PY)
	$(PIP) install --quiet torch==2.13.0
	touch $@

$(VENV)/.installed-local: pyproject.toml $(VENV)/.torch
	$(PIP) install --quiet -e '.[local]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.torch
	$(PIP) install --quiet -e '.[local,infra,training,launch,dev]'
	touch $@ $(VENV)/.installed-local

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-dev
	$(PIP) install --quiet -e '.[bench]'
	touch $@

install: $(VENV)/.installed-local
install-dev: $(VENV)/.installed-dev

ingest: install
	$(VENV)/bin/genai-stack ingest data/sample_kb --data-dir $(DATA_DIR) --pii-allow-file data/public-values.txt

serve: install
	$(VENV)/bin/genai-stack serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

demo: widget ingest serve

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint checkov widget-budget e2e-deps
	$(VENV)/bin/pytest

# The CloudFormation template and assets in cdk.out/, with cdk-nag as a synthesis check; pip builds
# the Lambda layer for arm64 (cached in cdk.out/ until layers/ changes). cfn-lint fails on errors.
synth: install-dev
	CDK_OUTDIR=cdk.out $(PY) app.py
	$(VENV)/bin/cfn-lint --non-zero-exit-code error cdk.out/*.template.json

# checkov on the synthesized template, with the defaults and with the VPC on (layer bundling
# skipped: only templates are scanned). checkov pins its own dependencies, so it lives in its own
# virtual environment; --skip-download keeps it offline. Every finding fails the build unless the
# template carries its reason as checkov skip metadata (infra/nag.py, beside cdk-nag's).
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_OUT := cdk.out/checkov

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

checkov: install-dev $(CHECKOV_VENV)/.installed
	CDK_OUTDIR=$(CHECKOV_OUT)/default CDK_CONTEXT_JSON='{"skip_layer_bundling": true}' $(PY) app.py
	CDK_OUTDIR=$(CHECKOV_OUT)/vpc \
		CDK_CONTEXT_JSON='{"skip_layer_bundling": true, "network.vpc_enabled": true}' $(PY) app.py
	$(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact --framework cloudformation \
		-f $(CHECKOV_OUT)/default/*.template.json $(CHECKOV_OUT)/vpc/*.template.json

# Every section of bench/ (see bench/run.py); the SciFact embeddings are cached in bench/results/cache/.
bench: install-dev $(VENV)/.installed-bench
	$(PY) -m bench.run

# schemathesis 4.x, in its own venv (its pins are not the project's), against a server started here on
# a fresh copy of data/sample_kb; every check, FUZZ_EXAMPLES cases per operation, a fixed seed. It
# fails on any server error, undocumented status or schema mismatch; the report lands in FUZZ_DIR.
FUZZ_VENV := .venv-fuzz
FUZZ_DIR ?= .genai-stack-fuzz
FUZZ_PORT ?= 8765
FUZZ_EXAMPLES ?= 300
FUZZ_SEED ?= 11

$(FUZZ_VENV)/.installed:
	$(PYTHON) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install --quiet 'schemathesis>=4,<5'
	touch $@

fuzz: install $(FUZZ_VENV)/.installed
	rm -rf $(FUZZ_DIR)
	$(VENV)/bin/genai-stack ingest data/sample_kb --data-dir $(FUZZ_DIR)/data --quiet \
	  --pii-allow-file data/public-values.txt
	$(VENV)/bin/genai-stack serve --data-dir $(FUZZ_DIR)/data --host $(HOST) --port $(FUZZ_PORT) \
	  --quiet-metrics > $(FUZZ_DIR)/server.log 2>&1 & server=$$!; \
	trap 'kill $$server' EXIT; \
	$(FUZZ_VENV)/bin/schemathesis --config-file tests/schemathesis.toml run \
	  http://$(HOST):$(FUZZ_PORT)/openapi.json --wait-for-schema 120 \
	  --checks all --max-examples $(FUZZ_EXAMPLES) --seed $(FUZZ_SEED) --workers 1 --no-color \
	  --report junit --report-dir $(FUZZ_DIR)/report

# The chat widget (widget/): npm builds one bundle, which the local server serves on the demo store
# page; make test checks its size budget and installs what the browser tests need (Debian's
# Chromium, only when it is missing, and the playwright package).
WIDGET_BUNDLE := widget/dist/widget.js
WIDGET_BUDGET_BYTES := 51200

widget/node_modules/.installed: widget/package.json widget/package-lock.json
	cd widget && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WIDGET_BUNDLE): widget/node_modules/.installed widget/tsconfig.json $(wildcard widget/src/*.ts)
	cd widget && npm run --silent build

widget: $(WIDGET_BUNDLE)

widget-budget: $(WIDGET_BUNDLE)
	@size=$$(gzip -9c $(WIDGET_BUNDLE) | wc -c); echo "widget.js: $$size bytes gzipped (budget $(WIDGET_BUDGET_BYTES))"; \
	test $$size -le $(WIDGET_BUDGET_BYTES)

/usr/bin/chromium:
	apt-get update -qq && apt-get install -y -qq chromium

e2e-deps: /usr/bin/chromium widget install-dev

clean:
	rm -rf $(VENV) $(FUZZ_VENV) $(CHECKOV_VENV) widget/node_modules widget/dist cdk.out .pytest_cache .mypy_cache .ruff_cache $(DATA_DIR) $(FUZZ_DIR)
