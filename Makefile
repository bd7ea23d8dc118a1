# Two commands on a fresh machine: `make reproduce` and `make test` (see README.md).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_DIR ?= runs

.PHONY: setup reproduce test bench docs clean-runs

# torch first, from the local CPU wheel, so nothing pulls a CUDA build; then the package and dev tools.
$(BIN)/.installed: settings.ini setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

setup: $(BIN)/.installed

reproduce: setup
	$(BIN)/omnibiote reproduce --runs $(abspath $(RUN_DIR))

test: setup
	@echo "== nbdev_clean must leave the notebooks unchanged"
	$(BIN)/nbdev_clean
	@git diff --quiet -- nbs || { git --no-pager diff --stat -- nbs; echo "notebooks were not clean: run nbdev_clean and commit"; exit 1; }
	@echo "== nbdev_export must leave the package in sync"
	$(BIN)/nbdev_export
	@test -z "$$(git status --porcelain -- omnibiote_nb nbs)" || { git status --porcelain -- omnibiote_nb nbs; echo "package out of sync with notebooks: run nbdev_export and commit"; exit 1; }
	@echo "== nbdev_test (tiny profile, IN_TEST set)"
	$(BIN)/nbdev_test --n_workers 2 --timing
	@echo "== notebook outputs: executing each notebook again gives its committed outputs"
	$(BIN)/python tools/nb_outputs.py check
	@echo "== pytest"
	$(BIN)/python -m pytest -q tests/

# The documentation site (Sphinx + myst-nb) from the notebooks and their committed outputs, into docs/_build/html.
docs: setup
	$(BIN)/python tools/build_docs.py

bench: setup
	$(BIN)/python -m benchmarks.run --out benchmarks/results.json
