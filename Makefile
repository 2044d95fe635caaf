# Every target sets itself up from nothing: a virtual env in .venv/ with exact pins, then runs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= training/configs/demo.toml
URGENCY_CONFIG ?= training/configs/urgency_demo.toml
HOST ?= 127.0.0.1
PORT ?= 3000

export BENTOML_DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
# The real datasets, when they sit beside the repository; override with APPEALS_DATA_DIR=...
export APPEALS_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: install run train serve test lint audit eval bench mlflow-ui demo-data clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt pip setuptools
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: train on the configured data (demo by default), register and promote, then serve.
run: install
	$(BIN)/appeals train --config $(CONFIG)
	$(BIN)/appeals promote --config $(CONFIG)
	$(BIN)/appeals urgency train --config $(URGENCY_CONFIG) --promote
	$(BIN)/appeals serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/appeals serve --host $(HOST) --port $(PORT)

train: install
	$(BIN)/appeals train --config $(CONFIG)
	$(BIN)/appeals urgency train --config $(URGENCY_CONFIG)

## make test: lint, type-check, the dependency audit and the test suite.
test: install lint audit
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check appeals training service evaluation tests data
	$(BIN)/mypy

## make audit: pip-audit of constraints.txt; fails on a vulnerability not in .pip-audit-allow.txt
## (prints "skipped: vulnerability service unreachable" and passes when it cannot be asked).
audit: install
	$(BIN)/python -m evaluation.run_audit

## make eval: quality figures on the real data, written to evaluation/RESULTS.md.
eval: install
	$(BIN)/python -m evaluation.run_eval

## make bench: speed and memory figures.
bench: install
	$(BIN)/python -m evaluation.run_bench

mlflow-ui: install
	$(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///models/mlflow.db} --host 127.0.0.1 --port 5000 --workers 1

demo-data: install
	$(BIN)/python data/make_demo.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
