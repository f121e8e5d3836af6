# Kvartal: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cat requirements.lock | cksum | cut -d' ' -f1)
# The npm packages the tests use (axe-core, pinned in package.json): `npm ci` of the
# dependencies only (Lighthouse, a devDependency, is .ci/lighthouse's).
JS_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)

.PHONY: run test test-fast install install-js lint fmt bench messages

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

$(JS_STAMP): package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the accessibility tests (apt-get install npm)"; exit 1; }
	npm ci --omit=dev --no-audit --no-fund
	touch $(JS_STAMP)

install-js: $(JS_STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@# Demo users (password "kvartal") only on this demo path, never with KVARTAL_HTTPS=1.
	KVARTAL_DEMO=$${KVARTAL_DEMO-1} $(BIN)/python manage.py seed_demo --size S --if-empty
	@echo "Kvartal: http://127.0.0.1:$(PORT)/"
	@# Beside the web server: one worker of the job queue and the periodic jobs' scheduler
	@# (holds that ran out, warnings, reminders, overdue payments, backups).
	$(BIN)/python manage.py db_worker --queue-name '*' & WORKER=$$!; \
	$(BIN)/python manage.py ops_scheduler & SCHEDULER=$$!; \
	trap 'kill $$WORKER $$SCHEDULER 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn kvartal.wsgi --bind 127.0.0.1:$(PORT) --workers 2 --threads 16 --access-logfile -

# One test process per CPU (pytest-xdist); each has its own test database.
test: install install-js
	$(BIN)/python -m pytest -n auto

# The quick loop: no browser, SQLite.
test-fast: install
	$(BIN)/python -m pytest -n auto -m "not browser" -q

# ruff, and the import contracts of the layers (pyproject.toml, [tool.importlinter]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python manage.py bench
	$(BIN)/python manage.py bench_holds
	$(BIN)/python manage.py bench_reports

# The catalogues: Russian and Simplified Chinese (zh_Hans), each compiled to its .mo.
LOCALES := ru zh_Hans

messages: install
	$(BIN)/python manage.py makemessages $(addprefix -l ,$(LOCALES)) --no-location --no-obsolete
	for l in $(LOCALES); do \
	  msgfmt --check -o locale/$$l/LC_MESSAGES/django.mo locale/$$l/LC_MESSAGES/django.po || exit 1; \
	done
