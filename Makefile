# dbenv: `make test`, `make demo` and `make bench` work on a fresh clone (they build .venv
# themselves).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := examples/dashtam
DBENV := $(abspath $(BIN))/dbenv

.PHONY: install node-deps test test-lowest demo bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The benchmarks' peers (pytest-postgresql) with the dev tools; its own marker (and
# .installed's: the dev extra came with it).
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.installed

# The Node examples' packages (npm ci from their lock files; nothing when up to date).
node-deps:
	scripts/node-deps

test: install node-deps
	DBENV_VENV=$(VENV) scripts/check

# The suite on the lowest declared dependency versions (its own .venv-lowest; uv).
test-lowest: node-deps
	PYTHON=$(PYTHON) scripts/check-lowest

demo: install node-deps
	DBENV=$(DBENV) scripts/demo

# Each script starts its own PostgreSQL; DBENV_BENCH_PG_DSN=postgresql://... uses a given one.
bench: $(VENV)/.installed-bench
	DBENV_VENV=$(VENV) bench/run

clean-venv:
	rm -rf $(VENV) .venv-lowest
