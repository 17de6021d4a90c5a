# netsim: two commands on a fresh machine.
#   make sweep   - set up (.venv, data packages) and run the default sweep on the bundled digits data
#   make test    - set up and run the whole test suite (notebooks + tests/), ending with pytest's summary line
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(VENV)/bin/pip
# torch is pinned to the CPU wheel and installed in the same pip call as everything that depends on it.
PINS  := "torch==2.13.0" "nbdev==2.4.14" "execnb<0.2" "fastcore>=1.8,<2"
STAMP := $(VENV)/.netsim-installed
# OpenMP threads spin only briefly (GNU OpenMP: 1000 spins, about 10 us) and then sleep while they wait: tests run two workers
# on two cores, and long-spinning threads slow every multi-threaded torch call on a busy machine by up to 40x
# (benchmarks/zoo.py), while sleeping at once costs a wake-up per operation. Values set by the caller win.
export OMP_WAIT_POLICY ?= PASSIVE
export GOMP_SPINCOUNT ?= 1000

.PHONY: setup data sweep test test-fast test-slow sync-check docs clean

setup: $(STAMP) data

$(STAMP): settings.ini setup.py
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev]" $(PINS)
	@touch $(STAMP)

data:
	@bash scripts/install_data.sh

sweep: setup
	$(VENV)/bin/netsim sweep digits --out runs

sync-check: $(STAMP)
	@bash scripts/check_sync.sh

test: setup sync-check
	MPLBACKEND=Agg $(VENV)/bin/python -m pytest tests -n 2 -q -p no:cacheprovider

test-slow: setup
	$(VENV)/bin/nbdev_test --flags slow --n_workers 1

docs: setup
	@bash scripts/build_docs.sh $(DOCS_ARGS)   # DOCS_ARGS=--check also runs the browser check (docs/check_site.py)

clean:
	rm -rf _proc _docs _site
