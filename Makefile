# The two set-up commands of the README: `make demo` and `make test`.
# Both create their own virtual environment (.venv) on first use.

# First Python 3.10-3.13 on PATH (slicer-core ships wheels for these only); override with PYTHON=...
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11 python3.10; do \
	$$p -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' >/dev/null 2>&1 && echo $$p && break; done)
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= demo-output

.PHONY: demo test bench bench-suv bench-cohort lint clean

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python 3.10-3.13 found on PATH (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/pentixafor-quant demo --out $(OUT)

test: $(BIN)/.installed
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/pentixafor-quant bench

bench-suv: $(BIN)/.installed
	$(BIN)/python Testing/benchmarks/bench_suv_read.py

# 20 whole-body studies through batch with 1 and 2 workers (generated once into the temp folder, ~3 GB, reused).
bench-cohort: $(BIN)/.installed
	$(BIN)/python Testing/benchmarks/bench_cohort.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache build *.egg-info PentixaforQuant/*.egg-info
