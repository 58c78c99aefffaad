# Two commands do all set-up on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Both are idempotent: the venv is rebuilt only when pyproject.toml changes, flite installed once.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.rth-installed
SUITE ?= scenarios/
PYTEST_ARGS ?=
# Two pytest-xdist workers, whole files each (module-scoped stand-ins and runs are made once): the
# end-to-end tests mostly wait on real-time audio, so two share two cores. XDIST= runs serially.
XDIST ?= -n 2 --dist loadfile

.PHONY: demo test lint setup system-deps clean fixtures

demo: setup
	$(BIN)/rth run $(SUITE) --out reports

test: setup lint
	scripts/in-loopback-netns.sh $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check harness tests bench
	$(BIN)/mypy

setup: system-deps $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

system-deps:
	@scripts/install-system-deps.sh

# Every WAV the scenarios need that is missing, and every fixture remade from its sidecar (same bytes).
fixtures: setup
	$(BIN)/rth fixtures synth scenarios/ fixtures/audio/ --force

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
