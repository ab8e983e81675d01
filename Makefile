# Leadshelf developer commands. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint format bench browser clean messages

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/python -m portal.catalogs compile
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install Leadshelf with its test and dev tools

run: $(STAMP) ## Start the portal with the demo library on SQLite at http://127.0.0.1:8000
	$(BIN)/leadshelf serve --demo

browser: ## Install Debian's Chromium for the end-to-end tests (if missing)
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

test: $(STAMP) browser ## Install everything and run the whole test suite (e2e included)
	$(BIN)/pytest -n 2 --dist loadfile

test-fast: $(STAMP) ## Run the tests without the browser
	$(BIN)/pytest -n 2 --dist loadfile -m "not e2e"

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(STAMP) ## Extract the texts marked for translation, update the catalogs, compile them
	$(BIN)/python -m portal.catalogs

bench: $(STAMP) ## Run the benchmarks under bench/ (they print figures)
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean: ## Remove the venv, caches and the local ./data
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data
