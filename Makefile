# The two commands a new user needs: `make demo` and `make test`. Both set up what is missing.
PY := .venv/bin/python
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1

BENCH_AREAS := ledger governance approvals documents robots

.PHONY: setup demo test lint bench clean

setup:
	@scripts/setup.sh

demo: setup
	$(PY) -m demo

test: setup
	$(PY) -m proctor.cli policy test
	$(PY) -m pytest -q -ra

lint: setup
	.venv/bin/ruff check .

bench: setup
	@for area in $(BENCH_AREAS); do echo "== bench.$$area"; $(PY) -m bench.$$area || exit 1; done

clean:
	rm -rf .proctor .pytest_cache
