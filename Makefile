# Wayline: `make demo` runs the app, `make test` runs the whole suite. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
NPM := npm --prefix frontend

.PHONY: demo test test-suite lint types types-check install install-test frontend chromium migrate seed serve clean

demo: install frontend migrate seed serve

test: install-test frontend chromium lint types-check test-suite

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements-test.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	$(NPM) ci --no-audit --no-fund
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(shell find frontend/src frontend/public -type f 2>/dev/null) frontend/index.html frontend/vite.config.ts frontend/vite.frame.config.ts
	$(NPM) run build

frontend: frontend/dist/index.html

# Debian's chromium for the browser tests (Playwright cannot download its own browser here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; \
	  else echo "Install Debian's chromium (apt-get install chromium) to run the browser tests." >&2; exit 1; fi; \
	fi

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The front end's API types come from the OpenAPI schema (drf-spectacular, then openapi-typescript);
# both files are committed, so the build needs no Python. After changing a serializer: make types.
SCHEMA := frontend/schema/openapi.yaml
SCHEMA_TS := frontend/src/lib/schema.d.ts
OPENAPI_TS := frontend/node_modules/.bin/openapi-typescript

types: install frontend/node_modules/.installed
	@mkdir -p $(dir $(SCHEMA))
	$(PY) manage.py spectacular --file $(SCHEMA)
	$(OPENAPI_TS) $(SCHEMA) -o $(SCHEMA_TS)

# Regenerates both into a temporary directory and compares: a few seconds, no database.
types-check: install-test frontend/node_modules/.installed
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PY) manage.py spectacular --file $$tmp/openapi.yaml 2>$$tmp/spectacular.log || { cat $$tmp/spectacular.log >&2; exit 1; }; \
	$(OPENAPI_TS) $$tmp/openapi.yaml -o $$tmp/schema.d.ts >/dev/null 2>$$tmp/openapi-typescript.log || { cat $$tmp/openapi-typescript.log >&2; exit 1; }; \
	if ! cmp -s $$tmp/openapi.yaml $(SCHEMA) || ! cmp -s $$tmp/schema.d.ts $(SCHEMA_TS); then \
	  { diff -u $(SCHEMA) $$tmp/openapi.yaml; diff -u $(SCHEMA_TS) $$tmp/schema.d.ts; } | head -40 >&2; \
	  echo "frontend types are out of date: run make types" >&2; exit 1; \
	fi

migrate: install
	$(PY) manage.py migrate --noinput -v 0

seed: install
	$(PY) manage.py seed_demo

serve: install
	@echo "Wayline is starting at http://127.0.0.1:8000 (web + worker). Ctrl-C stops both."
	$(VENV)/bin/honcho start -f Procfile

# The whole suite, with its duration (pytest prints each half's; this line the total), in
# TEST_WORKERS processes side by side (pytest-xdist; each its own test database and Redis prefix):
# 2 on this 2-core machine took the SQLite half from 780 s to 569 s, 4 took 639 s.
TEST_WORKERS ?= 2
test-suite:
	@start=$$(date +%s); status=0; \
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) || status=$$?; \
	[ $$status -ne 0 ] || $(NPM) run test --silent || status=$$?; \
	db=SQLite; [ -z "$$DATABASE_URL" ] || db=PostgreSQL; \
	echo "test suite: $$(( $$(date +%s) - start )) s on $$db"; \
	exit $$status

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist var
