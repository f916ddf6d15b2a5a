# pikadb: install, test, benchmark.
#
#   make test         everything the tests need (apt packages if missing, the package with its
#                     compiled extensions and test tools), then lint and the whole test suite
#   make test-core-off  the integration suite again with every pikad started with
#                     --command-core no (every command through the dispatcher), with one
#                     worker and with $(WORKERS)
#   make test-workers the integration suite and the pikad Sentinel failover tests again with
#                     every pikad started with --workers $(WORKERS) --shards $(SHARDS)
#                     (two shards per worker)
#   make dev          build the Cython extensions in place (src/pikadb/*.so) for iterative work;
#                     then run things with PYTHONPATH=src
#   make bench        pikad vs redis-server in one run (python -m bench.compare): redis-benchmark
#                     rps and p50/p99 per test at -P 1 and 16 for pikad --workers 1 and 2, RSS
#                     after loading BENCH_KEYS keys; a table, bench-compare.png (matplotlib:
#                     pip install .[bench]); BENCH_ARGS adds options (--quick, --json PATH, ...)
#   make bench-codecs   the Cython codec micro-benchmarks (bench/test_*_bench.py), compared with
#                     the saved baseline bench/baselines/codecs.json (printed; nothing asserted)
#   make bench-baseline runs them and saves bench/baselines/codecs.json anew (commit it)
#
# Works unattended (CI=true, no stdin); any failure stops make with a non-zero status.
# The test targets run with PYTHONPATH unset, so they test the INSTALLED package, the one
# `pip install .` built (a fresh clone's src/pikadb has no compiled modules).

PYTHON ?= $(shell command -v python >/dev/null 2>&1 && echo python || echo python3)
WORKERS ?= 2
SHARDS ?= 4
# make bench: keys loaded for the memory figures (the issue's figure: 10000000), extra options.
BENCH_KEYS ?= 1000000
BENCH_ARGS ?=
BENCH_BASELINE := bench/baselines/codecs.json
# pytest-benchmark over bench/; the pyproject addopts disable benchmarks, so enable them.
BENCH_PYTEST := $(PYTHON) -m pytest bench/ -q --benchmark-enable --benchmark-only \
	--benchmark-sort=fullname --benchmark-group-by=fullname \
	--benchmark-columns=min,median,mean,stddev,ops,rounds
# 1: `make test` also runs the integration suite on several workers (test-workers).
TEST_WITH_WORKERS ?= 1
# 1: `make test` also runs the integration suite with the command core off (test-core-off).
TEST_CORE_OFF ?= 1
PYTEST_ARGS ?=

# Root runs apt-get directly; anyone else through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends

# pip: no prompts, no nagging; allowed into a distribution-managed Python (PEP 668), as on a
# fresh Debian machine where the system python3 is the only one.
PIP := env PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
	PIP_BREAK_SYSTEM_PACKAGES=1 $(PYTHON) -m pip
# Tests and lint see the installed package, never src/ through PYTHONPATH.
RUN := env -u PYTHONPATH

.NOTPARALLEL:
.PHONY: test system-deps python-deps install check-installed lint pytest test-workers \
	test-workers-run test-core-off test-core-off-run dev bench bench-codecs bench-baseline clean

test: install lint pytest $(if $(filter 1,$(TEST_CORE_OFF)),test-core-off-run) \
	$(if $(filter 1,$(TEST_WITH_WORKERS)),test-workers-run)

# ---- dependencies ----

system-deps:
	@if command -v redis-server >/dev/null 2>&1 && command -v redis-sentinel >/dev/null 2>&1 \
	    && command -v redis-cli >/dev/null 2>&1; then \
	  echo "redis-server, redis-sentinel, redis-cli: installed"; \
	else \
	  echo "installing redis-server, redis-sentinel, redis-tools"; \
	  $(SUDO) apt-get update && \
	  $(APT_INSTALL) redis-server redis-sentinel redis-tools; \
	fi

# A C compiler, Python's headers and pip, for building the Cython extensions.
python-deps:
	@missing=""; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc libc6-dev"; \
	$(PYTHON) -c "import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" \
	  || missing="$$missing python3-dev"; \
	$(PYTHON) -m pip --version >/dev/null 2>&1 || missing="$$missing python3-pip"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update && $(APT_INSTALL) $$missing; \
	fi

install: system-deps python-deps
	$(PIP) install ".[test]"
	@$(MAKE) --no-print-directory check-installed

# The package the tests will import must be the installed one, with its compiled modules.
check-installed:
	@$(RUN) $(PYTHON) -c "import pikadb, pikadb.protocol, pikadb.keycodec, os; \
	  p = pikadb.__file__; \
	  assert os.sep + 'src' + os.sep + 'pikadb' not in p, 'pikadb imported from a source tree: ' + p; \
	  print('pikadb', pikadb.__version__, 'from', os.path.dirname(p))"

# ---- checks ----

# ruff, then the import layering of pyproject.toml's [tool.importlinter] (lint-imports, run
# through the interpreter the package is installed in).
lint:
	$(RUN) $(PYTHON) -m ruff check src tests bench
	$(RUN) $(PYTHON) -c "import sys; from importlinter.cli import lint_imports_command; \
	  sys.argv = ['lint-imports', '--no-cache']; lint_imports_command()"

pytest:
	$(RUN) $(PYTHON) -m pytest -q $(PYTEST_ARGS)

test-core-off: install test-core-off-run

# Every integration and differential test again, each pikad with the command core off: the
# dispatcher alone must answer as redis-server does too (tests/integration/test_core.py
# compares the two paths directly).
test-core-off-run:
	$(RUN) PIKADB_TEST_CORE=no $(PYTHON) -m pytest -q -m "not slow" tests/integration $(PYTEST_ARGS)
	$(RUN) PIKADB_TEST_CORE=no PIKADB_TEST_WORKERS=$(WORKERS) PIKADB_TEST_SHARDS=$(SHARDS) \
	  $(PYTHON) -m pytest -q -m "not slow" tests/integration $(PYTEST_ARGS)

test-workers: install test-workers-run

# Every integration and differential test again, each pikad a coordinator and $(WORKERS)
# worker processes (keys of several workers: -CROSSSLOT cases re-run with hash tags), then
# the Sentinel failover tests of pikad groups (pika-sentinels and Debian's redis-sentinels).
test-workers-run:
	$(RUN) PIKADB_TEST_WORKERS=$(WORKERS) PIKADB_TEST_SHARDS=$(SHARDS) \
	  $(PYTHON) -m pytest -q -m "not slow" tests/integration $(PYTEST_ARGS)
	$(RUN) PIKADB_TEST_WORKERS=$(WORKERS) PIKADB_TEST_SHARDS=$(SHARDS) \
	  $(PYTHON) -m pytest -q tests/interop -k pikad $(PYTEST_ARGS)

# ---- development ----

dev:
	$(PYTHON) setup.py build_ext --inplace

bench:
	$(PYTHON) -m bench.compare --workers 1,2 --keys $(BENCH_KEYS) $(BENCH_ARGS)

# Benchmarks measure, they do not assert: the comparison is printed (each group: the saved
# baseline's row and NOW's), never failed on. Not part of `make test` nor of CI.
bench-codecs:
	@test -f $(BENCH_BASELINE) || { echo "no $(BENCH_BASELINE): run make bench-baseline"; exit 1; }
	$(BENCH_PYTEST) --benchmark-compare=$(BENCH_BASELINE)

# pytest-benchmark numbers its saves (0001_baseline.json, ...) under a per-platform folder:
# save into a scratch storage, then move the file to its fixed name.
bench-baseline:
	rm -rf bench/baselines/.save
	$(BENCH_PYTEST) --benchmark-storage=file://bench/baselines/.save --benchmark-save=baseline
	mkdir -p bench/baselines
	mv bench/baselines/.save/*/0001_baseline.json $(BENCH_BASELINE)
	rm -rf bench/baselines/.save
	@echo "saved $(BENCH_BASELINE)"

clean:
	rm -rf build dist .eggs src/*.egg-info src/pikadb/*.so cext/*.c cext/*.html
