# Two entry points (README): `make lab` runs the main job, `make test` runs every test.
# Both create .venv and install the project into it first (again only when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONTRACT := $(wildcard ../shared/contract)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# `make lab PORT=8899`: a port that is taken fails (no silent move to the next one). HOST stays this
# machine by default; Jupyter makes a token and prints the URL that carries it (LAB_FLAGS for more:
# LAB_FLAGS=--no-browser).
PORT ?= 8888
HOST ?= 127.0.0.1
LAB_FLAGS ?=

.PHONY: install lab test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ip=$(HOST) --port=$(PORT) --port-retries=0 $(LAB_FLAGS) notebooks/quickstart.ipynb

lint: $(STAMP)
	$(BIN)/ruff check mlops_nb tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider tests $(CONTRACT)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py
