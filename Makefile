# cxculture — the targets a newcomer reads first: demo, test, lint, bench.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-stamp
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
# `make demo PORT=8001` serves there, and the links in its e-mails point there too, unless
# CXC_BASE_URL is set (say, to the address of a proxy in front of it).
PORT ?= 8000
CXC_BASE_URL ?= http://127.0.0.1:$(PORT)
DEMO_ENV := CXC_BASE_URL=$(CXC_BASE_URL)

.PHONY: help install demo serve test lint format migrations-check worker beat bench fuzz

help: ## Show the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml uv.lock package.json package-lock.json
	@python=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		echo "Creating $(VENV) with $$python"; rm -rf $(VENV); "$$python" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --python $(PY)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(STAMP) ## Create the virtualenv and install Python and npm packages from the lock files.

demo: install ## Migrate an SQLite database, seed the demo organisation, run its due work and serve http://127.0.0.1:8000 (PORT=8001 for another port).
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py seed_demo
	$(DEMO_ENV) $(PY) manage.py run_due_work
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

serve: install ## Serve the app without re-seeding (PORT=8000 by default).
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install ## Run the whole test suite (PostgreSQL/Redis when DATABASE_URL/CELERY_BROKER_URL are set).
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

lint: install ## ruff (lint and format check), mypy on the apps and the bench, the import layering (lint-imports).
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy cxculture recognition surveys bench
	$(VENV)/bin/lint-imports

format: install ## Apply ruff's formatting and safe fixes.
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install ## Fail if a model change has no migration.
	DJANGO_SETTINGS_MODULE=cxculture.settings.test $(PY) manage.py makemigrations --check --dry-run

worker: install ## Run a Celery worker (needs CELERY_BROKER_URL).
	$(VENV)/bin/celery -A cxculture worker --loglevel=INFO

beat: install ## Run the Celery beat scheduler (needs CELERY_BROKER_URL).
	$(VENV)/bin/celery -A cxculture beat --loglevel=INFO

bench: install ## Benchmarks against a seeded PostgreSQL (see bench/README.md).
	$(PY) bench/run.py $(BENCH_ARGS)

fuzz: install ## A long fuzz of the API: schemathesis (random seeds) and the schema fuzz, 50 examples each.
	CXC_FUZZ_EXAMPLES=$${CXC_FUZZ_EXAMPLES:-50} CXC_FUZZ_LONG=1 $(PY) -m pytest -n auto \
		tests/security/test_schemathesis.py tests/security/test_schema_fuzz.py $(PYTEST_ARGS)
