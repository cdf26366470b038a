# Shop API: every target has a one-line description (## ...); `make` lists them.
SHELL := /bin/bash
# The Pythons the project supports (pyproject.toml's requires-python): 3.11 to 3.13.
PY_SUPPORTED := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))
# PYTHON=python3.12 make run picks the interpreter; by default the first supported one on PATH.
ifndef PYTHON
PYTHON := $(firstword $(foreach candidate,python3 python3.13 python3.12 python3.11,\
	$(shell $(candidate) -c '$(PY_SUPPORTED)' >/dev/null 2>&1 && echo $(candidate))))
PYTHON_GIVEN :=
else
PYTHON_GIVEN := yes
endif
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python server/manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
COMPOSE ?= docker compose -p shop -f docker/compose.yaml --env-file docker/.env

.PHONY: help install node deploy-tools k8s-check lock run migrate demo demo-ui storefront test check contract faults soak client client-ts mock docs bench bench-admin bench-instructions lint fmt spec-lint contract-gate worker beat up down logs clean

help: ## List every target with its description
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

NEED_PYTHON = { echo "Python 3.11 to 3.13 is needed and '$(or $(PYTHON),python3)' is not one: \
	choose one with PYTHON=python3.12 make ..." >&2; exit 1; }

$(BIN)/python:
	@$(PYTHON) -c '$(PY_SUPPORTED)' 2>/dev/null || $(NEED_PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

# The contract's Node tools (TypeScript client, Spectral, Optic, Prism), pinned in contract_tests/package-lock.json.
NODE_DIR := contract_tests
NODE_BIN := $(NODE_DIR)/node_modules/.bin

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20+ with npm is needed for the contract's tools" >&2; exit 1; }
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	@touch $@

node: $(NODE_DIR)/node_modules/.installed ## Install the contract's Node tools (npm ci in contract_tests/)

# The Kubernetes manifests' validators (kubernetes-validate, checkov, yamllint), in a virtualenv of
# their own: checkov pins many packages, which stay out of the app's.
DEPLOY_VENV := .venv-deploy

$(DEPLOY_VENV)/.installed: deploy/requirements.lock | $(BIN)/python
	$(BIN)/python -m venv --clear $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --require-hashes -r deploy/requirements.lock
	@touch $@

deploy-tools: $(DEPLOY_VENV)/.installed ## Install the Kubernetes manifests' validators (.venv-deploy, from deploy/requirements.lock)

k8s-check: install deploy-tools ## Validate deploy/kubernetes offline: yamllint, kubernetes-validate --strict, checkov, env parity
	$(BIN)/pytest server/tests/test_kubernetes.py -q

lock: | $(BIN)/python ## Pin every dependency with its hashes (requirements*.lock, deploy/requirements.lock), for 3.11-3.13
	$(BIN)/python -m pip install --quiet 'uv>=0.5'
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet \
		-o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes --quiet \
		-o requirements-dev.lock
	$(BIN)/uv pip compile deploy/requirements.in --universal --python-version 3.11 --generate-hashes --quiet \
		-o deploy/requirements.lock

install: ## Create the virtualenv (again, if its Python is not the one wanted) and install the project
	@if [ -n "$(PYTHON_GIVEN)" ] || [ ! -e $(BIN)/python ]; then \
	  $(PYTHON) -c '$(PY_SUPPORTED)' 2>/dev/null || $(NEED_PYTHON); fi
	@if [ -e $(BIN)/python ] && { ! $(BIN)/python -c '$(PY_SUPPORTED)' 2>/dev/null || { [ -n "$(PYTHON_GIVEN)" ] \
	    && [ "$$($(BIN)/python -V 2>&1)" != "$$($(PYTHON) -V 2>&1)" ]; }; }; then \
	  echo "$(VENV) was made with $$($(BIN)/python -V 2>&1 || echo a Python that is gone): making it again"; \
	  rm -rf $(VENV); fi
	@$(MAKE) --no-print-directory $(VENV)/.installed

migrate: install ## Apply database migrations
	$(MANAGE) migrate --noinput

demo: migrate ## Load demo products, a demo admin and a demo customer (prints their credentials)
	$(MANAGE) seed_demo

run: demo ## Serve on http://127.0.0.1:8000 with embedded defaults (SQLite, local cache, in-process tasks)
	CORS_ALLOWED_ORIGINS=$${CORS_ALLOWED_ORIGINS-http://127.0.0.1:4173} $(MANAGE) runserver $(HOST):$(PORT)

worker: migrate ## Start a Celery worker (server/bin/worker, as in Docker); needs CELERY_BROKER_URL
	PYTHON=$(abspath $(BIN)/python) server/bin/worker

beat: install ## Start Celery beat, which runs the outbox sweeper every minute (server/bin/beat)
	PYTHON=$(abspath $(BIN)/python) server/bin/beat

test: install node deploy-tools ## Run the whole suite with coverage (>= 90%); real services when reachable
	$(BIN)/pytest --cov --cov-report=term

check: install deploy-tools ## The inner loop (about 2 min): ruff, and every test but the live stack's (-m "not live"); no Node
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -m "not live" -q

contract: install node ## Only the contract tests: live stack, schemathesis, generated client, curl examples
	$(BIN)/pytest contract_tests -v

faults: install ## Only the fault tests (also part of make test): Memcached/Redis/worker/PostgreSQL failures
	$(BIN)/pytest contract_tests/test_faults.py contract_tests/test_soak.py contract_tests/test_shutdown.py -v

soak: install ## Chaos soak on two of everything (SECONDS=180; POOLED=1: through PgBouncer, PROXIED=1: behind nginx): faults on a fixed seed, then the invariant table
	PYTHONPATH=server $(BIN)/python -m contract_tests.soak --seconds $(or $(SECONDS),180) --clients 8 --seed 7 $(if $(POOLED),--pooled) $(if $(PROXIED),--proxied)

client: install ## Generate the Python client from openapi.yaml into build/client/
	$(BIN)/openapi-python-client generate --path openapi.yaml --config contract_tests/client-config.yaml \
		--output-path build/client --overwrite

client-ts: node ## Generate the TypeScript types from openapi.yaml into build/client-ts/ (for openapi-fetch)
	$(NODE_BIN)/openapi-typescript openapi.yaml --default-non-nullable=false -o build/client-ts/schema.d.ts
	$(NODE_BIN)/tsc --noEmit --strict build/client-ts/schema.d.ts

storefront: node ## Build the demo storefront (contract_tests/storefront/, on the TypeScript client) into build/storefront/
	$(BIN)/python -m contract_tests.node_tools

demo-ui: storefront ## Serve the storefront on http://127.0.0.1:4173, calling `make run`'s API on :8000 (CORS)
	$(BIN)/python -m http.server 4173 --bind 127.0.0.1 --directory build/storefront

mock: node ## Serve the contract on :4010 with Prism (examples; Prefer: code=404 or dynamic=true), no backend
	$(NODE_BIN)/prism mock openapi.yaml --host $(or $(MOCK_HOST),127.0.0.1) --port $(or $(MOCK_PORT),4010) --errors

docs: install ## Rewrite the README's curl examples from openapi.yaml
	$(BIN)/python contract_tests/curl_examples.py --write

bench: install ## Load-test the live stack with wrk (SCALE=products, default 1000; ORDERS=orders for the admin list, default 200000); writes build/bench/
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
	$(BIN)/python contract_tests/bench/run.py --scale $(or $(SCALE),1000) --orders $(or $(ORDERS),200000)

bench-admin: install ## Only the staff's order list, search and export, at 1,000 and at ORDERS orders (default 2000000)
	$(BIN)/python contract_tests/bench/run.py --admin-only --orders $(or $(ORDERS),2000000)

bench-instructions: install ## A cached read's and an order POST's CPU instructions against their ceilings' (valgrind; steady where req/s is not)
	@command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
	$(BIN)/python contract_tests/bench/instructions.py

lint: install spec-lint ## ruff (lint + format check) and the spec validator
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

spec-lint: install node contract-gate ## Validate openapi.yaml: OpenAPI 3.1 schema, Spectral (ours + recommended), the gate
	$(BIN)/openapi-spec-validator openapi.yaml
	$(NODE_BIN)/spectral lint openapi.yaml --ruleset contract_tests/spectral/ruleset.yaml --fail-severity=warn

contract-gate: install node ## Refuse a breaking change against the newest released contract (Optic; see CHANGELOG.md)
	$(BIN)/python contract_tests/contract_gate.py

fmt: install ## Format and auto-fix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docker/.env: docker/.env.example
	@sed -e "s/^DJANGO_SECRET_KEY=$$/DJANGO_SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')/" \
	     -e "s/^DJANGO_SUPERUSER_PASSWORD=$$/DJANGO_SUPERUSER_PASSWORD=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(12))')/" \
	     docker/.env.example > $@
	@echo "Wrote $@ with a fresh secret key; the admin is: $$(grep -E '^DJANGO_SUPERUSER_(USERNAME|PASSWORD)=' $@ | cut -d= -f2 | paste -sd/)"

up: docker/.env ## Build and start the full stack with Docker Compose (web on :8000, worker, beat, PostgreSQL, Redis, Memcached)
	$(COMPOSE) up -d --build

down: ## Stop the Docker Compose stack (volumes are kept; add -v by hand to drop them)
	$(COMPOSE) down

logs: ## Follow the logs of the Docker Compose stack
	$(COMPOSE) logs -f --tail=100

clean: ## Remove the virtualenv, build output and the local SQLite database
	rm -rf $(VENV) $(DEPLOY_VENV) build db.sqlite3 .coverage .pytest_cache .ruff_cache .schemathesis server/*.egg-info $(NODE_DIR)/node_modules $(NODE_DIR)/typescript/dist
