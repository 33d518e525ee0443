# Entry points (README): `make console` runs the main job (the ops console on a demo store), `make lab`
# the notebooks, `make test` every test. Each creates .venv and installs the project into it first
# (again only when pyproject.toml changes).

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
# `make test TEST_WORKERS=0` runs the tests in one process (pytest-xdist's -n); TEST_DIST=load compares
# pytest-xdist's default spreading with loadgroup (see the test target)
TEST_WORKERS ?= 2
TEST_DIST ?= loadgroup
# `make console`: the demo store is built once into .demo/ (its own MLOPS_HOME: database, audit key,
# artifacts, the training script and the logins, readable by this user only); `rm -rf .demo` rebuilds
# it. CONSOLE_PORT picks another port; a taken one fails in one line.
CONSOLE_PORT ?= 8501
DEMO := $(CURDIR)/.demo
DEMO_URL := sqlite:///$(DEMO)/mlops.db

.PHONY: install console lab test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

$(DEMO)/demo.txt: | $(STAMP)
	rm -rf $(DEMO) && mkdir -m 700 $(DEMO)
	MLOPS_HOME=$(DEMO) $(BIN)/mlops demo --db $(DEMO_URL) | tee $(DEMO)/demo.tmp
	grep -q '^Logins' $(DEMO)/demo.tmp && mv $(DEMO)/demo.tmp $(DEMO)/demo.txt

console: $(DEMO)/demo.txt
	@sed -n '/^Logins/,/^$$/p' $(DEMO)/demo.txt
	MLOPS_HOME=$(DEMO) $(BIN)/mlops console --db $(DEMO_URL) --host $(HOST) --port $(CONSOLE_PORT)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ip=$(HOST) --port=$(PORT) --port-retries=0 $(LAB_FLAGS) notebooks/quickstart.ipynb

RUFF = $(BIN)/ruff check mlops_nb tests benchmarks
MYPY = $(BIN)/mypy

lint: $(STAMP)
	$(RUFF)
	$(MYPY)

# `make test`: lint (ruff, mypy: a minute of CPU on a clean clone) runs beside the tests rather than
# before them, its output kept and printed after theirs; either failing fails the target. The tests
# spread over TEST_WORKERS pytest-xdist workers with --dist loadgroup: a module marked
# xdist_group (one that starts a server, a kernel or builds the demo once) stays on one worker.
test: $(STAMP)
	@rm -f $(VENV)/lint.log; ( { $(RUFF) && $(MYPY); } > $(VENV)/lint.log 2>&1; echo $$? > $(VENV)/lint.rc ) & \
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) $(if $(filter 0,$(TEST_WORKERS)),,--dist $(TEST_DIST)) \
		--durations=15 tests $(CONTRACT); tests=$$?; wait; \
	echo "--- lint (ruff, mypy)"; cat $(VENV)/lint.log; lint=$$(cat $(VENV)/lint.rc); \
	echo "make test: pytest exit $$tests, lint exit $$lint"; [ $$tests -eq 0 ] && [ $$lint -eq 0 ]

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py
