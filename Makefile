# The two commands of README.md: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint breaking generate bench fuzz fuzz-setup

$(BIN)/autoscale: pyproject.toml setup.py services/metrics/_put_samples.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/autoscale

demo: setup
	$(BIN)/autoscale demo

# The real peers the tests start (Prometheus, Alertmanager) are installed first where that can be done; never fails.
test: setup lint breaking
	$(BIN)/python scripts/gen_protos.py --check
	sh scripts/install_test_peers.sh
	$(BIN)/python -m pytest

# mypy --strict over the packages pyproject.toml's [tool.mypy] lists (about 10 s from cold, under 1 s cached).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
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

# The native PutSamples reader under a coverage-guided fuzzer (fuzz/README.md): FUZZ_SECONDS of libFuzzer, which stops
# at the first crash (a memory error, or an answer protobuf + the rules would not give) and exits non-zero.
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=
FUZZ_BUILD := build/fuzz
FUZZ_EXTENSION := $(FUZZ_BUILD)/_put_samples.so

fuzz-setup: setup
	bash fuzz/setup.sh $(BIN)/python

# Apart from the normal build in the source tree: clang, ASan and libFuzzer's coverage counters, loaded by path.
$(FUZZ_EXTENSION): services/metrics/_put_samples.c | fuzz-setup
	mkdir -p $(FUZZ_BUILD)
	clang -shared -fPIC -fsanitize=address,fuzzer-no-link -g -O1 -fno-omit-frame-pointer \
		-std=c11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
		-I"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" $< -o $@

# PYTHONMALLOC=malloc: every Python object in its own malloc block, so ASan sees the reader's objects too.
fuzz: fuzz-setup $(FUZZ_EXTENSION)
	mkdir -p $(FUZZ_BUILD)/crashes
	ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc \
	LD_PRELOAD="$$($(BIN)/python -c 'import atheris; print(atheris.path())')/asan_with_fuzzer.so" \
	$(BIN)/python fuzz/put_samples_fuzz.py $(FUZZ_EXTENSION) $(FUZZ_BUILD)/corpus/put_samples \
		-dict=fuzz/put_samples.dict -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_BUILD)/crashes/ $(FUZZ_ARGS)
