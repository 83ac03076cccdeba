# Scalemark: development, test and CI entry points.
#
#   make run        install, then start everything (`scalemark dev`)
#   make test       lint, typecheck and the whole test suite
#   make help       list the targets
#
# Services: DATABASE_URL / REDIS_URL (tests: TEST_DATABASE_URL / TEST_REDIS_URL) win;
# otherwise PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379; otherwise embedded
# servers under .data/ (see src/scalemark/devservers.py).

PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
E2E_DIR := tests/e2e
E2E_STAMP := $(E2E_DIR)/node_modules/.package-lock.json
PO_FILES := $(wildcard locales/*/LC_MESSAGES/messages.po)
LINT_PATHS := src tests bench
BENCH_SCRIPTS ?= bench/provision.py bench/migrate.py bench/isolation.py bench/governance_pages.py \
	bench/assessment_autosave.py bench/assessment_results.py bench/report.py
# Babel's defaults (_, gettext, ngettext, pgettext, npgettext, N_, …) plus the lazy forms.
BABEL_KEYWORDS := -k lazy_gettext -k _l -k lazy_pgettext:1c,2 -k _lp:1c,2

.DEFAULT_GOAL := help
.PHONY: help install i18n-compile run test lint format typecheck e2e-deps i18n bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,embedded]"
	touch $@

install: $(STAMP) i18n-compile ## virtualenv with the project, dev tools and embedded servers

i18n-compile: | $(STAMP) ## compile locales/*/LC_MESSAGES/messages.po into .mo files
ifneq ($(PO_FILES),)
	$(BIN)/pybabel compile -d locales -D messages --statistics
else
	@echo "i18n-compile: no locales/*/LC_MESSAGES/messages.po yet, nothing to compile"
endif

run: install ## start database/Redis (machine or embedded), migrate, demo tenant, web + worker
	$(BIN)/scalemark dev

test: install e2e-deps ## lint, typecheck, then pytest
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory typecheck
	$(BIN)/pytest -q

lint: | $(STAMP) ## ruff check and format check
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: | $(STAMP) ## apply ruff formatting and safe fixes
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

typecheck: | $(STAMP) ## mypy (packages and options from pyproject.toml)
	$(BIN)/mypy

e2e-deps: $(E2E_STAMP) ## Chromium and the Node tools of the browser tests (axe-core, oidc-provider)
	@if [ -x "$(CHROMIUM)" ]; then \
		echo "e2e-deps: browser $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "e2e-deps: installing chromium"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-dejavu-core >/dev/null; \
	else \
		echo "e2e-deps: WARNING: no browser at $(CHROMIUM); browser tests need it." >&2; \
		echo "  Debian/Ubuntu: sudo apt-get install chromium fonts-dejavu-core" >&2; \
		echo "  elsewhere: make test CHROMIUM=/path/to/chromium" >&2; \
	fi

$(E2E_STAMP): $(E2E_DIR)/package.json $(E2E_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "e2e-deps: npm is required (Node.js 20+)" >&2; exit 1; }
	npm ci --prefix $(E2E_DIR) --no-audit --no-fund --loglevel=error
	touch $@

i18n: | $(STAMP) ## extract messages, update every catalog, fill English, compile
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --project=Scalemark \
		--copyright-holder=Scalemark --msgid-bugs-address=dev@scalemark.invalid \
		-o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching
	$(BIN)/python -m scalemark.i18n.catalogs fill-en locales/en/LC_MESSAGES/messages.po
	@$(MAKE) --no-print-directory i18n-compile
	$(BIN)/python -m scalemark.i18n.catalogs check locales || \
		echo "i18n: translate the entries listed above (tests fail until they are)"

bench: install ## run the benchmark scripts (they print their figures)
	@set -e; for script in $(BENCH_SCRIPTS); do \
		echo "== $$script"; \
		$(BIN)/python $$script; \
	done

clean: ## remove caches and build output (keeps .venv and .data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info src/*.egg-info
	find . -path ./$(VENV) -prune -o -path ./$(E2E_DIR)/node_modules -prune -o \
		-name __pycache__ -type d -exec rm -rf {} +
	find locales -name '*.mo' -delete
