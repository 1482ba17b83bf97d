# The two commands a newcomer needs: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint check bench browser-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/esl-controller demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

# The house checks CI runs before the tests: lint, formatting, layer contracts, types.
check: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash tools/check.sh

bench: install
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_reprice.py

# Debian's chromium for the dashboard's browser tests (they skip, saying so, without it).
browser-deps:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

clean:
	rm -rf $(VENV) var build *.egg-info
