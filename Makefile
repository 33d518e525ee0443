# Two entry points (README): `make lab` runs the main job, `make test` runs every test.
# Both create .venv and install the project into it first (again only when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONTRACT := $(wildcard ../shared/contract)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/quickstart.ipynb

lint: $(STAMP)
	$(BIN)/ruff check mlops_nb tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider tests $(CONTRACT)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py
