# Two commands for a newcomer: `make demo` and `make test`. Each sets itself up.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_RECIPE ?= recipes/psf-microfilter-example-viii.yaml

.PHONY: demo test check bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Poreline needs Python >= 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/poreline run $(DEMO_RECIPE)

# Lint, import layers (DESIGN.md) and strict types on the engine, the recipe language and the drivers.
check: $(STAMP)
	$(BIN)/ruff check controller drivers simulator bench tests
	$(BIN)/lint-imports
	$(BIN)/mypy -p controller.engine -p controller.recipe -p drivers

test: check
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/sim_speed.py

clean:
	rm -rf $(VENV) var .pytest_cache
