# Every target builds what it needs: `make test` and `make demo` work on a fresh machine
# that has python3.11, Java 17 and make.
PYTHON      ?= python3.11
UV_VERSION  := 0.13.8
TOOLS       := .tools
UV          := $(TOOLS)/bin/uv
VENV        := .venv
BIN         := $(VENV)/bin
SOURCES     := dags plugins spark_jobs scripts localaws tests docs/examples
# What the UI-trigger test runs from Debian's packages: a headless browser for its screenshot,
# and PostgreSQL, the compose stack's metadata database.
SYSTEM_PACKAGES := chromium chromium-driver postgresql
SUDO        := $(if $(filter 0,$(shell id -u)),,sudo)
# pytest-xdist's workers, each taking whole files: an end-to-end module's days share one local
# AWS. Files start in tests/conftest.py's order (longest first), not xdist's by number of
# tests. The quick tests keep a core busy each; the end-to-end ones also wait on their runs, and
# a third worker fills those waits (docs/development.md).
PYTEST      := $(BIN)/pytest --dist loadfile --no-loadscope-reorder

# uv never downloads a Python build here: it uses the system python3.11.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Without .pyc files every Spark Python worker compiles TensorFlow again: 13 s per import here
# instead of 4.5 s (and this environment sets PYTHONDONTWRITEBYTECODE, so Python never caches).
export UV_COMPILE_BYTECODE := 1

.PHONY: help venv system-packages lint format typecheck check requirements test bench bench-featurize bench-pca bench-discovery \
	bench-dag bench-node-env demo env clean

help:
	@echo "make demo          the whole DAG offline on a local AWS (IMAGES=dir to use your own)"
	@echo "make check         the everyday loop: lint, mypy, every test not marked slow"
	@echo "make test          create the venv, lint, mypy, run every test (incl. slow end-to-end ones), coverage"
	@echo "make bench         every benchmark below, one after the other (about 1.5 hours)"
	@echo "make bench-featurize  DAG parse time, featurize throughput (ratios), the cost model"
	@echo "make bench-pca     PCA's daily curve: a new day on 0 to 1,000,000 rows of history"
	@echo "make bench-dag     the whole DAG on the local AWS with 20,000 images"
	@echo "make bench-discovery  a day's S3 requests with 0 and 100,000 older images stored"
	@echo "make bench-node-env   a node's bootstrap: pip from PyPI against the deployed archive"
	@echo "make env           .env for docker compose, from .env.example with fresh secrets"
	@echo "make requirements  regenerate the files exported from uv.lock"
	@echo "make lint|format   ruff check / ruff format; make typecheck: mypy"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --isolated --quiet --index-url https://pypi.org/simple uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --all-groups
	@touch $@

# Local Spark JVMs start from it, about 3 s sooner each: scripts/spark_class_archive.py.
$(VENV)/spark-classes.jsa: $(VENV)/.synced
	$(BIN)/python -m scripts.spark_class_archive --output $@

venv: $(VENV)/.synced $(VENV)/spark-classes.jsa

system-packages:
	@dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(SYSTEM_PACKAGES); }

lint: venv
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

format: venv
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

# pyproject.toml's [tool.mypy]: dags, plugins, spark_jobs, localaws and scripts.
typecheck: venv
	$(BIN)/mypy

check: lint typecheck
	$(PYTEST) -n 2 -m "not slow"

# Files that install the lock's versions elsewhere; tests/test_lock_exports.py fails when they drift.
requirements: venv
	$(BIN)/python scripts/export_requirements.py

test: lint typecheck system-packages
	$(PYTEST) -n 3 --cov

demo: venv
	$(BIN)/python -m scripts.demo $(if $(IMAGES),--images "$(IMAGES)")

# Never overwrites an existing .env.
env:
	@test -f .env && echo ".env exists: edit it, or delete it to start again" \
		|| $(PYTHON) scripts/new_env.py

# Benchmarks print ratios measured side by side in one run; run them with nothing else running.
bench: bench-featurize bench-pca bench-dag bench-discovery bench-node-env

bench-featurize: venv
	$(BIN)/python -m tests.benchmarks.bench_dag_parse
	$(BIN)/python -m tests.benchmarks.bench_featurize
	$(BIN)/python -m tests.benchmarks.cost_model

bench-pca: venv
	$(BIN)/python -m tests.benchmarks.bench_pca

bench-dag: venv
	$(BIN)/python -m tests.benchmarks.bench_dag

bench-discovery: venv
	$(BIN)/python -m tests.benchmarks.bench_discovery

bench-node-env: venv
	$(BIN)/python -m tests.benchmarks.bench_node_env

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
