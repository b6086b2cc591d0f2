# Two commands from a fresh clone: `make run` and `make test`.
# Needs only Python 3.11+ and make: uv is installed into .tools/ when it is not on PATH,
# and it uses the system Python (never downloads one).

export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --no-sync

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck pytest fuzz bench drill sync clean

help:
	@echo "make run    start Temporal dev server, worker, API and dashboard"
	@echo "make test   ruff, mypy and every test"
	@echo "make fuzz   the API fuzz test on a new seed, with ten times the examples"
	@echo "make bench  run the benchmarks and regenerate docs/benchmarks.md"
	@echo "make drill  the crash drill: kill a worker, an API replica and Temporal under load"

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled here rather than on the first import, which made the first start from
# a fresh clone slower than the next (and every start, where PYTHONDONTWRITEBYTECODE is set):
# uv compiles the dependencies, compileall the project (uv leaves an editable one alone).
.venv/.synced: pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --locked --all-extras --compile-bytecode
	@touch $@

sync: .venv/.synced
	@$(RUN) python -m compileall -q src

run: sync
	$(RUN) opsdesk dev

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: sync
	$(RUN) mypy

pytest: sync
	$(RUN) pytest

test: lint typecheck pytest

# `make test` fuzzes the API from a fixed seed; this searches further, from a new seed each
# run (tests/test_fuzz.py). A failure names its seed: `OPSDESK_FUZZ_SEED=<seed> make
# fuzz` repeats it. Longer than pytest's per-test timeout, so without it; one test, so in
# one process (no xdist workers).
fuzz: export OPSDESK_FUZZ_SEED ?= random
fuzz: export OPSDESK_FUZZ_EXAMPLES ?= 1000
fuzz: sync
	$(RUN) pytest tests/test_fuzz.py --timeout=0 -rA -n0

# About 26 minutes on 2 cores; the PostgreSQL rows needs its server binaries (apt-get install
# postgresql), as the drill does. The long rows come from their own runs and stay in
# bench/results/: `$(RUN) python -m bench.dashboard --sizes 50000` and
# `$(RUN) python -m bench.memory --orders 10000`; see docs/benchmarks.md.
# The bench group (matplotlib, py-spy) on top of what `make test` installs; `make test`
# itself never needs them.
# Needs PostgreSQL's server binaries (apt-get install postgresql); see docs/reliability.md.
drill: sync
	$(RUN) opsdesk drill

# bench/ is compiled as src/ is: a workflow module without its bytecode is compiled again
# in every workflow sandbox where PYTHONDONTWRITEBYTECODE is set, which slowed the baseline.
bench: sync
	$(UV) sync --locked --all-extras --group bench --compile-bytecode
	@$(RUN) python -m compileall -q bench
	$(RUN) python -m bench.coldstart
	$(RUN) python -m bench.throughput --orders 40 --variants previous
	$(RUN) python -m bench.throughput --orders 40 --variants previous --database postgresql
	$(RUN) python -m bench.profile --orders 40 --rounds 3 --sides baseline,shipped,previous
	$(RUN) python -m bench.profile --orders 40 --rounds 3 --database postgresql
	$(RUN) python -m bench.actions
	$(RUN) python -m bench.answers --requests 30
	$(RUN) python -m bench.dashboard --sample 1000
	$(RUN) python -m bench.memory --orders 300
	$(RUN) python -m bench.intake --requests 40 --rounds 4
	$(RUN) python -m bench.submit --requests 30
	$(RUN) python -m bench.roundtrip --orders 8 --rounds 5 --runs 3
	$(RUN) python -m bench.triage --model
	$(RUN) python -m bench.priority --burst 40 --emergencies 3 --rounds 4
	$(RUN) python -m bench.call_turns
	$(RUN) python -m bench.report

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache
