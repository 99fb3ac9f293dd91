# vaultkit developer commands. `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NATIVE_SRC := $(wildcard native/include/*.h native/src/*.c native/src/*.h)
PYTEST_ARGS ?=

.PHONY: demo test test-min bench bench-check lint fuzz system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

# Editable install with the native core built in place; redone when the C sources change.
# --upgrade-strategy eager: the newest release of every dependency (what a user gets today), also
# when the venv already had an older one; `make test-min` covers the oldest that pyproject allows.
$(VENV)/.base: $(BIN)/python pyproject.toml setup.py src/vaultkit/hazmat/bindings/_build.py $(NATIVE_SRC)
	$(BIN)/python -m pip install -q --upgrade --upgrade-strategy eager -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.base
	$(BIN)/python -m pip install -q --upgrade --upgrade-strategy eager -e '.[dev,bench]'
	@touch $@

# The oldest releases pyproject.toml allows (constraints/minimum.txt, also applied to the build:
# cffi), in a venv of their own, vaultkit installed as a user gets it (a wheel, not editable: the
# editable install would rebuild the native core in src/ under the other venv's feet).
MIN_VENV := .venv-min
MIN_BIN := $(MIN_VENV)/bin
MIN_PIP := PIP_CONSTRAINT=$(CURDIR)/constraints/minimum.txt $(MIN_BIN)/python -m pip install -q
SOURCES := $(shell find src -name '*.py' -not -path '*/__pycache__/*')

$(MIN_VENV)/.deps: constraints/minimum.txt pyproject.toml
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(MIN_PIP) '.[dev]'
	@touch $@

$(MIN_VENV)/.vaultkit: $(MIN_VENV)/.deps setup.py $(SOURCES) $(NATIVE_SRC)
	$(MIN_PIP) --no-deps --force-reinstall .
	@touch $@

test: system-deps $(VENV)/.dev
	$(BIN)/python -c "import vaultkit.hazmat.bindings as b; print('vaultkit backend:', b.backend())"
	$(BIN)/python constraints/check.py
	$(BIN)/python -m pytest -q -p no:cacheprovider --benchmark-disable $(PYTEST_ARGS)

# The whole test suite (not the benchmarks) against the minimum versions.
test-min: system-deps $(MIN_VENV)/.vaultkit
	$(MIN_BIN)/python constraints/check.py constraints/minimum.txt
	$(MIN_BIN)/python -m pytest tests -q -p no:cacheprovider --benchmark-disable $(PYTEST_ARGS)

system-deps:
	@bash scripts/system-deps.sh

demo: $(VENV)/.base
	$(BIN)/vaultkit demo

# Every benchmark on the default CPU path, then bench_paths.py once per x86 CPU path
# (VAULTKIT_CPU_MASK), the CLI's start-up and stream memory, Spark (bench_spark.py, a script:
# a Spark session per pytest run would cost more than it checks), then RESULTS.md from all.
bench: $(VENV)/.dev
	$(BIN)/python -m pytest benchmarks -q -p no:cacheprovider --benchmark-only \
		--ignore=benchmarks/bench_paths.py --benchmark-json=benchmarks/.last.json
	$(BIN)/python benchmarks/paths.py benchmarks
	$(BIN)/python benchmarks/startup.py benchmarks/.startup.json
	$(BIN)/python benchmarks/bench_spark.py benchmarks/.spark.json
	$(BIN)/python benchmarks/report.py benchmarks/.last.json benchmarks/RESULTS.md \
		--paths benchmarks/.paths.json --startup benchmarks/.startup.json \
		--spark benchmarks/.spark.json --service benchmarks/.service.json

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
	rm -rf $(VENV) $(MIN_VENV) build dist src/*.egg-info src/vaultkit/hazmat/bindings/_native*.so
