# clientcard: `make run` serves the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite bench lint format clean messages

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

# The interface's texts (see docs/architecture.md, "Languages"): re-extracts them from the
# templates and the web code into the catalogues; a new text arrives untranslated, and the
# catalogue test then names it. The app reads the .po files itself: nothing to compile.
LOCALE_DIR := src/clientcard/web/locale
BABEL_KEYWORDS := -k tr:2 -k ntr:2,3 -k N_ -k NP_:1c,2
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --sort-output --add-location=file \
		--project=clientcard --version=0.1 -o $(LOCALE_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) \
		--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	CLIENTCARD_TEST_POSTGRES_URL="" $(BIN)/pytest -q -p no:cacheprovider tests/web/test_i18n.py -k catalogue
