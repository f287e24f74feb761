# Shian: the two commands are `make run` and `make test`. Needs only Python 3.11+ (no Docker, no Redis).
#
#   make run     virtualenv, install, Redis, migrations, five services and the web app, demo county, accounts and history; prints URLs
#   make test    the whole test suite
#   make bench   the bus benchmark (BENCH_ARGS=--quick for a smoke run), then the county benchmark's quick run
#   make faults  the fault campaign: kills, Redis restarts, bursts, against a ground truth (FAULTS_ARGS=--quick)
#   make screenshots  each journey's main page as a PNG in docs/screenshots/ (needs /usr/bin/chromium)
#   make lint    ruff check + ruff format --check + mypy (the types)
#   make clean   remove the virtualenv, caches, build files and local data (var/)
#
# PYTHON=/path/to/python3.12 picks the interpreter for the virtualenv (default: the first of
# python3, python3.13, python3.12, python3.11 on the PATH that is 3.11 or newer).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTHON_CANDIDATES := python3 python3.13 python3.12 python3.11
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for candidate in $(PYTHON_CANDIDATES); do \
	if command -v $$candidate >/dev/null 2>&1 && \
	   $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then \
	  echo $$candidate; break; fi; done)
endif

.PHONY: help run test bench faults lint clean install screenshots

help:
	@sed -n 's/^#   //p' Makefile

# The virtualenv, created once with a Python that is new enough.
$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: Shian needs Python 3.11 or newer; none of $(PYTHON_CANDIDATES) on the PATH is." >&2; \
	  echo "       Install one, or run: make $(MAKECMDGOALS) PYTHON=/path/to/python3.11" >&2; exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: Shian needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null || echo 'not a working Python')." >&2; \
	  exit 1; }
	@echo "Creating $(VENV) with $$($(PYTHON) -c 'import sys; print(sys.executable, sys.version.split()[0])')"
	$(PYTHON) -m venv $(VENV)

# Install (again) only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/shian up --demo

test: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bus.py $(BENCH_ARGS)
	$(BIN)/python bench/county.py --quick

faults: $(STAMP)
	$(BIN)/python bench/faults.py $(FAULTS_ARGS)

screenshots: $(STAMP)
	$(BIN)/shian screenshots

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
