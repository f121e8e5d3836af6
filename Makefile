# Kvartal: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cat requirements.lock | cksum | cut -d' ' -f1)

.PHONY: run test install lint bench messages

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo --size S --if-empty
	@echo "Kvartal: http://127.0.0.1:$(PORT)/"
	@# The periodic jobs (holds that ran out, task reminders) run beside the web server.
	$(BIN)/python manage.py sales_tick --loop 60 & TICK=$$!; \
	trap 'kill $$TICK 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn kvartal.wsgi --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --access-logfile -

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python manage.py bench
	$(BIN)/python manage.py bench_holds
	$(BIN)/python manage.py bench_reports

messages: install
	$(BIN)/python manage.py makemessages -l ru --no-location --no-obsolete
	msgfmt --check -o locale/ru/LC_MESSAGES/django.mo locale/ru/LC_MESSAGES/django.po
