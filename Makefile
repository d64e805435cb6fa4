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

.PHONY: help install install-dev demo ingest serve test lint format synth bench fuzz clean

help:
	@echo "make demo   - install, ingest data/sample_kb, serve the assistant on http://$(HOST):$(PORT)"
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

demo: ingest serve

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(VENV)/bin/pytest

# The CloudFormation template and assets in cdk.out/, with cdk-nag as a synthesis check; pip builds
# the Lambda layer for arm64 (cached in cdk.out/ until layers/ changes). cfn-lint fails on errors.
synth: install-dev
	CDK_OUTDIR=cdk.out $(PY) app.py
	$(VENV)/bin/cfn-lint --non-zero-exit-code error cdk.out/*.template.json

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

clean:
	rm -rf $(VENV) $(FUZZ_VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache $(DATA_DIR) $(FUZZ_DIR)
