# The two commands of README.md: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint breaking generate bench

$(BIN)/autoscale: pyproject.toml setup.py services/metrics/_put_samples.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/autoscale

demo: setup
	$(BIN)/autoscale demo

test: setup lint breaking
	$(BIN)/python scripts/gen_protos.py --check
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/buf lint

# The protos must stay compatible with the previous commit's (when it had any).
breaking: setup
	@if git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then \
		$(BIN)/buf breaking --against '.git#ref=HEAD~1' && echo "buf breaking: compatible with HEAD~1"; \
	else echo "buf breaking: no earlier commit with protos to compare with"; fi

generate: setup
	$(BIN)/python scripts/gen_protos.py

# Figures to compare across commits (about ten minutes; `--quick` for a smoke run): a table, and bench/results/latest.json.
bench: setup
	$(BIN)/python -m bench
