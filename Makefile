# vaultkit developer commands. `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NATIVE_SRC := $(wildcard native/include/*.h native/src/*.c native/src/*.h)
PYTEST_ARGS ?=

.PHONY: demo test bench bench-check lint fuzz system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

# Editable install with the native core built in place; redone when the C sources change.
$(VENV)/.base: $(BIN)/python pyproject.toml setup.py src/vaultkit/hazmat/bindings/_build.py $(NATIVE_SRC)
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.base
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	@touch $@

system-deps:
	@bash scripts/system-deps.sh

demo: $(VENV)/.base
	$(BIN)/vaultkit demo

test: system-deps $(VENV)/.dev
	$(BIN)/python -c "import vaultkit.hazmat.bindings as b; print('vaultkit backend:', b.backend())"
	$(BIN)/python -m pytest -q -p no:cacheprovider --benchmark-disable $(PYTEST_ARGS)

# Every benchmark on the default CPU path, then bench_paths.py once per x86 CPU path
# (VAULTKIT_CPU_MASK), then RESULTS.md from both.
bench: $(VENV)/.dev
	$(BIN)/python -m pytest benchmarks -q -p no:cacheprovider --benchmark-only \
		--ignore=benchmarks/bench_paths.py --benchmark-json=benchmarks/.last.json
	$(BIN)/python benchmarks/paths.py benchmarks
	$(BIN)/python benchmarks/report.py benchmarks/.last.json benchmarks/RESULTS.md \
		--paths benchmarks/.paths.json

# Regression guard before a release (not in .ci/run: timings on shared machines are noisy): a
# short subset, its speed-ups compared with the committed RESULTS.md; fails on one > 30% worse.
bench-check: $(VENV)/.dev
	$(BIN)/python benchmarks/check.py benchmarks/RESULTS.md

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

fuzz: $(VENV)/.dev
	VAULTKIT_FUZZ_ROUNDS=$${VAULTKIT_FUZZ_ROUNDS:-1000000} $(BIN)/python -m pytest -q -p no:cacheprovider tests -k differential

clean:
	rm -rf $(VENV) build dist src/*.egg-info src/vaultkit/hazmat/bindings/_native*.so
