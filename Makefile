# The two commands a new user needs: `make demo` and `make test`. Both set up what is missing.
PY := .venv/bin/python
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1

BENCH_AREAS := ledger governance approvals documents robots

# `make test` runs the suite in two parts: what can share the machine on TEST_WORKERS pytest-xdist
# workers (one per core, at most 4; each worker has its own ports, temp folders, databases and
# session servers; the longest files first, see tests/conftest.py), then the tests marked
# `serial` (races that need two workers to really overlap) alone. Each part prints its slowest
# tests.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))
PYTEST := $(PY) -m pytest -q -ra
# `make soak` runs the heavy proofs at full size: crash 50 runs, load 100 runs, races repeated.
# SOAK narrows it to some test files (what .ci/run does when time is short).
SOAK ?= tests

.PHONY: setup demo test soak lint bench clean

setup:
	@scripts/setup.sh

demo: setup
	$(PY) -m demo

test: setup
	$(PY) -m proctor.cli policy test
	$(PYTEST) -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 \
		-m "not serial and not soak"
	$(PYTEST) --durations=5 -m "serial and not soak"

soak: setup
	$(PYTEST) --soak -m soak $(SOAK)

lint: setup
	.venv/bin/ruff check .

bench: setup
	@for area in $(BENCH_AREAS); do echo "== bench.$$area"; $(PY) -m bench.$$area || exit 1; done

clean:
	rm -rf .proctor .pytest_cache
