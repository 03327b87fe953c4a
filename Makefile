# `make run` and `make test` work on a fresh machine with only Python 3.11 (or newer) installed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= examples/default.toml

.PHONY: run test check lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# PYTHONWARNINGS: setuptools prints a notice on every editable install ("be careful with folders
# ... with the same name as your package"); it is about editable installs in general, not this one.
PIP_INSTALL := PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml examples/plugin_package/pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e ".[dev]"
	$(PIP_INSTALL) -e examples/plugin_package  # the example third-party plugin
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/esenas run $(CONFIG)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# The fast tier for every change: the tests not marked slow (subprocess runs, CLI fuzzers, kill
# loops, dask and MuJoCo runs). 394 tests in 24-34 s on the 2-core reference VM (2026-12-07);
# `make test` runs everything (700 tests, about 21 min there).
check: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not slow"

# The quick benchmark set (its time: docs/benchmarks.md); results in bench/results/*.json.
# The long sample-efficiency studies are separate commands (docs/benchmarks.md).
bench: $(VENV)/.installed
	$(BIN)/python bench/rollouts.py
	$(BIN)/python bench/controllers.py
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/dask_scaling.py --iterations 12
	$(BIN)/python bench/dask_scaling.py --iterations 6 --perturbations 32 --latency-iterations 3 \
		--out bench/results/dask_scaling_32.json
	$(BIN)/python bench/dask_tls.py
	$(BIN)/python bench/scale.py --quick --out bench/results/scale_quick.json
	$(BIN)/python bench/ablation_parallel.py
	$(BIN)/python bench/ablation_stats.py
	$(BIN)/python bench/ask_tell.py
	$(BIN)/python bench/live_edges.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
