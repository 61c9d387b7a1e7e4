# The two set-up commands of the README: `make demo` and `make test`.
# Both create their own virtual environment (.venv) on first use, with every extra the tests need: test, bench,
# web (trame-slicer 2, which brings slicer-core 5.11.0.6) and webtest (Playwright, driving the system Chromium).
# `make test-core` runs the suite on the core install alone (slicer-core 5.13, no web) in .venv-core.

# First Python 3.10-3.13 on PATH (slicer-core ships wheels for these only); override with PYTHON=...
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11 python3.10; do \
	$$p -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' >/dev/null 2>&1 && echo $$p && break; done)
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= demo-output
EXTRAS ?= test,bench,web,webtest
PORT ?= 8080

.PHONY: demo test test-core bench bench-suv bench-cohort bench-web web-demo lint clean

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python 3.10-3.13 found on PATH (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/pentixafor-quant demo --out $(OUT)

test: $(BIN)/.installed
	$(BIN)/python -m pytest

# The suite on the core install only (newest slicer-core, no web extra); the browser tests skip there.
test-core: pyproject.toml
	$(MAKE) VENV=.venv-core EXTRAS=test,bench .venv-core/bin/.installed
	.venv-core/bin/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/pentixafor-quant bench

bench-suv: $(BIN)/.installed
	$(BIN)/python Testing/benchmarks/bench_suv_read.py

# 20 whole-body studies through batch with 1 and 2 workers (generated once into the temp folder, ~3 GB, reused).
bench-cohort: $(BIN)/.installed
	$(BIN)/python Testing/benchmarks/bench_cohort.py

bench-web: $(BIN)/.installed
	$(BIN)/python Testing/benchmarks/bench_web.py

# The reading station on the demo phantom: open the address it prints (it holds the access token; Ctrl-C stops it).
web-demo: $(BIN)/.installed
	$(BIN)/pentixafor-quant phantom $(OUT)/worklist/phantom-01
	$(BIN)/pentixafor-quant web --worklist $(OUT)/worklist --out $(OUT)/readings --port $(PORT)

clean:
	rm -rf $(VENV) .venv-core $(OUT) .pytest_cache build *.egg-info PentixaforQuant/*.egg-info
