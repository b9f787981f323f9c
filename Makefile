# Everything installs from nothing: `make run` and `make test` create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
CONFIG ?= examples/quickstart.yaml

.PHONY: install run test test-fast bench chaos lint typecheck clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## the whole stack for CONFIG on the embedded broker (or EIS_KAFKA_BOOTSTRAP), plus a demo sink
run: install
	$(VENV)/bin/eis run -c $(CONFIG) --demo-sink 9999

## the whole test suite against a real broker started by the tests
test: install
	$(PY) -m pytest -q -p no:cacheprovider

## benchmarks (figures are ratios against baselines measured in the same run)
bench: install
	$(PY) tests/bench/expressions.py

## the reliability scenarios at full size (10,000 events each); a JSON report per scenario in reports/
chaos: install
	mkdir -p reports
	EIS_CHAOS_EVENTS=$${EIS_CHAOS_EVENTS:-10000} EIS_CHAOS_REPORTS=reports $(PY) -m pytest -q -p no:cacheprovider tests/reliability

lint: install
	$(VENV)/bin/ruff check agents connectors ingress ops schemas tests

typecheck: install
	$(VENV)/bin/mypy agents connectors ingress ops schemas

clean:
	rm -rf $(VENV) .eis reports
