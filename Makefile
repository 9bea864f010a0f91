# ShopSphere Twin. Two commands on a fresh machine:
#   make run    set up, then run the baseline scenario on the embedded SQLite commerce core
#   make test   set up, then run the whole suite against SQLite and PostgreSQL
#   make test-fast   the same without the tests marked slow (@pytest.mark.slow, > ~3 s each)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch first: a bare torch requirement would otherwise pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[all,dev,load]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/shopsphere run scenarios/baseline.yaml

test: setup
	PATH=$(abspath $(BIN)):$$PATH scripts/test.sh

test-fast: setup
	PATH=$(abspath $(BIN)):$$PATH scripts/test.sh -m "not slow"

# ruff (line length 100 enforced, E501 on), formatting, and mypy: strict for api, policies and
# dynamics (see [tool.mypy.overrides] in pyproject.toml), checked-untyped-defs elsewhere.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api dynamics policies scenarios twin edge_sim replay shopsphere_cli dashboards assistant

bench: setup
	$(BIN)/python benchmarks/checkout.py
	$(BIN)/python benchmarks/twin_speed.py
	$(BIN)/python benchmarks/replenishment_gaps.py
	$(BIN)/python benchmarks/env_speed.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
