# The two commands a new user needs: `make demo` and `make test`. Both set up what is missing.
PY := .venv/bin/python
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1

.PHONY: setup demo test lint policy-test bench clean

setup:
	@scripts/setup.sh

demo: setup
	$(PY) -m demo

test: setup
	$(PY) -m governance.cli policy test
	$(PY) -m pytest -q -ra

lint: setup
	.venv/bin/ruff check .

clean:
	rm -rf .proctor .pytest_cache
