# Lakehouse — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.sha256

.PHONY: run test bench soak venv services stop-services clean-var

# Create the virtual environment and (re)install requirements only when requirements.txt changed.
venv: $(STAMP)
$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@sha256sum requirements.txt > $(STAMP)

run: venv
	@$(PY) -m lakehouse.run

test: venv
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: venv
	@$(PY) -m benchmarks.run_all

# A 60-minute open-loop soak with leak detection (not part of bench): SOAK_ARGS="--duration 10m --rate 5/s".
soak: venv
	@$(PY) -m benchmarks.soak $(SOAK_ARGS)

services: venv
	@$(PY) -m lakehouse.embedded start

stop-services: venv
	@$(PY) -m lakehouse.embedded stop
