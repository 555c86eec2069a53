# clientcard: `make run` serves the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite bench lint format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/clientcard serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# Runs the whole suite on SQLite and, when a PostgreSQL server can be had, on PostgreSQL too.
test: $(STAMP)
	@scripts/ensure-chromium >/dev/null || echo "make test: no Chromium; the browser tests will say so" >&2
	@url=$$(scripts/ensure-postgres clientcard_test_$$(printf %s "$(CURDIR)" | md5sum | cut -c1-8)) || url=""; \
	CLIENTCARD_TEST_POSTGRES_URL="$$url" $(BIN)/pytest $(PYTEST_ARGS)

test-sqlite: $(STAMP)
	CLIENTCARD_TEST_POSTGRES_URL="" $(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@url=$$(scripts/ensure-postgres clientcard_bench) || url=""; \
	CLIENTCARD_BENCH_POSTGRES_URL="$$url" $(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache
