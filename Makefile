# Two commands on a fresh machine:
#   make lab    create the environment, start Apache Kafka, open JupyterLab
#   make test   create the environment and run every test, notebooks included
# Options: make lab NO_BROWSER=1 PORT=8889

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8888
NO_BROWSER ?=

.PHONY: env lab test test-fast lint system-deps notebooks bench clean

env: $(STAMP)

# Re-install whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

lab: env
	$(VENV)/bin/kafkalab lab --port $(PORT) $(if $(NO_BROWSER),--no-browser,)

# Every test: unit, integration (against the local Apache Kafka), doctests and
# every notebook under nbval. Things the tests need beyond Python come from
# scripts/install-system-deps.sh (run only where they are missing).
# As root (CI), system-deps can install everything, so a test whose tool is
# still missing fails instead of skipping (KAFKALAB_REQUIRE_SYSTEM_DEPS).
# Two pytest-xdist workers share one broker; the notebooks and the checkers'
# tests stay together, in order, on one of them (conftest.py says why). The JUnit
# report (each test's time) is what `python bench/suite.py` reads.
test: env system-deps lint
	$(if $(filter 0,$(shell id -u)),KAFKALAB_REQUIRE_SYSTEM_DEPS=1 ,)$(PY) -m pytest -n 2 --dist loadgroup --junitxml=build/test-report.xml

# ruff (style, bugs, imports) and mypy (types), both configured in pyproject.toml.
lint: env
	$(PY) -m ruff check kafkalab tests bench
	$(PY) -m mypy

# System packages some tests drive (headless Chromium for the dashboard test).
# The script installs only what is missing, and says so when it cannot.
system-deps:
	@if [ -x scripts/install-system-deps.sh ]; then scripts/install-system-deps.sh; fi

# Without the notebooks, for a quick loop while coding.
test-fast: env
	$(PY) -m pytest tests kafkalab

notebooks: env
	$(PY) -m kafkalab.curriculum build

# The benchmarks run in an environment of their own: quix-streams, a peer in
# bench/windows.py (the bench extra), pins confluent-kafka below 2.13 and its own
# pydantic, which the course's .venv (and so make test) must not be moved to.
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-stamp
$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

# Each script prints its rows with their ratios and appends them to bench/results/.
# The orders run is the issue's: 200 orders/s for 60 s, each service in its own process
# (all of them in one process reach about 105/s, one GIL: `python bench/orders.py` runs
# that too, at 100/s for 5 s; at 200/s for 60 s its HTTP server fell over).
bench: $(BENCH_STAMP)
	for b in clients batching logs windows cdc iot load; do $(BENCH_VENV)/bin/python bench/$$b.py || exit 1; done
	$(BENCH_VENV)/bin/python bench/orders.py --rate 200 --seconds 60 --skip-one-process
	$(BENCH_VENV)/bin/python bench/suite.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info
