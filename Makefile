# Priyom: the two commands a newcomer needs are `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PRIYOM := $(VENV)/bin/priyom
PORT ?= 8000
# Exact versions that installed and passed together: `make venv` installs within them.
LOCK := requirements.lock
export PRIYOM_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: run test test-sqlite test-postgres lint bench venv lock browser screenshots clean schema

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c $(LOCK) -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

## Refresh requirements.lock: the newest versions pyproject.toml allows, resolved in a clean venv
lock:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp" build' EXIT; \
	python3 -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install -q --upgrade pip; \
	"$$tmp/venv/bin/pip" install -q '.[dev,usb,serial]'; \
	{ echo "# Made by \`make lock\` from pyproject.toml (dev, usb and serial extras included);"; \
	  echo "# \`make venv\` installs with it as constraints. Do not edit by hand."; \
	  "$$tmp/venv/bin/pip" freeze --all --exclude-editable | grep -Eiv '^(priyom|pip|setuptools|wheel)[ =@]'; \
	} > $(LOCK)
	@echo "$(LOCK): $$(grep -vc '^#' $(LOCK)) packages"

# Chromium for the browser tests comes from Debian (Playwright cannot download its own here).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium espeak-ng fonts-dejavu-core >/dev/null; \
	  else echo "Install Chromium: sudo apt-get install -y chromium espeak-ng fonts-dejavu-core" >&2; exit 1; fi; }

## The whole system on demo data: http://127.0.0.1:8000 (SQLite file var/priyom.sqlite3, virtual printer)
run: venv
	$(PRIYOM) demo --reset
	$(PRIYOM) serve --demo --port $(PORT)

## The whole test suite, on SQLite and on PostgreSQL, browsers included
test: venv browser
	$(PY) -m pytest -q -p no:cacheprovider --db=sqlite --db=postgres

test-sqlite: venv browser
	$(PY) -m pytest -q --db=sqlite

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy visits printer
	$(VENV)/bin/lint-imports
	$(PY) tools/check_function_length.py visits

bench: venv
	$(PY) -m bench

## README screenshots (docs/screenshots/*.png): the whole-day browser scenario at device sizes
screenshots: venv browser
	PRIYOM_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q -p no:cacheprovider --db=sqlite tests/e2e/test_whole_day.py

# Regenerate the initial migration from the models (only before the first release).
schema: venv
	rm -f /tmp/priyom-schema.sqlite3 migrations/versions/0001_initial_schema.py
	$(PY) -c "from alembic import command; from visits.migrate import alembic_config; \
	  command.revision(alembic_config('sqlite:////tmp/priyom-schema.sqlite3'), message='initial schema', autogenerate=True, rev_id='0001')"
	$(VENV)/bin/ruff check --fix -q migrations || true

clean:
	rm -rf var .pytest_cache test-artifacts
