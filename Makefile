# CivicGrid — `make help` lists the targets.
SHELL := /bin/bash
PY    := .venv/bin/python
PG_URL ?= postgis://postgres@127.0.0.1:5432/civicgrid
REDIS_URL ?= redis://127.0.0.1:6379/0
# Two workers (this is a 2-core machine); one file stays on one worker.
PYTEST_ARGS ?= -n 2 --dist loadfile

.DEFAULT_GOAL := help
.PHONY: help bootstrap demo demo-data serve test test-postgis test-spatialite lint format messages bench bench-quick bench-scale bench-growth bench-locate bench-stats clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## Install what is missing (Debian packages, Python venv, dependencies, translations)
	@scripts/bootstrap.sh

demo: bootstrap demo-data serve ## Build the demo district on SpatiaLite and serve http://127.0.0.1:8000

demo-data: ## Migrate the embedded database, build the demo district and print the demo logins
	@env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py migrate -v 0
	@env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py grid_demo
	@env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py petitions_demo
	@env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py mediation_demo

serve: ## Serve the app on http://127.0.0.1:8000 (embedded SpatiaLite, eager Celery)
	@echo "CivicGrid: http://127.0.0.1:8000/  (map: /map/, admin: /admin/) — Ctrl-C to stop"
	@env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py runserver 127.0.0.1:8000

test: ## Install what is missing, prepare PostGIS and Redis, run the suite on PostGIS then SpatiaLite
	@scripts/bootstrap.sh --test
	@scripts/services.sh
	@$(MAKE) --no-print-directory lint
	@env -u DATABASE_URL $(PY) manage.py makemigrations --check --dry-run -v 1
	@$(MAKE) --no-print-directory test-postgis
	@$(MAKE) --no-print-directory test-spatialite

test-postgis: ## The whole suite on PostGIS and Redis (browser tests included)
	@echo "==> Test suite on PostGIS ($(PG_URL)) with Redis ($(REDIS_URL))"
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(REDIS_URL) CIVICGRID_REQUIRE_SERVICES=1 \
		$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

test-spatialite: ## The SpatiaLite-compatible subset on the embedded database
	@echo "==> SpatiaLite-compatible subset (embedded default database)"
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) -m pytest -p no:cacheprovider \
		-m "not postgis_only and not browser" $(PYTEST_ARGS)

lint: ## Ruff lint and format check
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check . >/dev/null || (echo "ruff format would change files: run 'make format'"; exit 1)

format: ## Apply ruff's fixes and formatting
	@.venv/bin/ruff check --fix .
	@.venv/bin/ruff format .

messages: ## Refresh and compile the message catalogues (zh-hans source, English translation)
	@$(PY) manage.py makemessages -l en --ignore=.venv --ignore=var -v 0
	@$(PY) manage.py makemessages -d djangojs -l en --ignore=.venv --ignore=var -v 0
	@$(PY) manage.py compilemessages -v 0 --ignore=.venv

# Benchmarks (PostGIS, not part of make test): bench/README.md. BENCH_ARGS passes options to
# bench/run.py, e.g. BENCH_ARGS="--duration 5 --skip stats".
BENCH_ARGS ?=

bench: ## Whole benchmark suite on 1,000,000 petitions (cg_bench_default; ~12 min + ~6 min to generate)
	@scripts/bootstrap.sh --bench
	@scripts/services.sh
	$(PY) bench/run.py --mode default $(BENCH_ARGS)

bench-quick: ## Whole benchmark suite on 100,000 petitions (cg_bench_quick)
	@scripts/bootstrap.sh --bench
	@scripts/services.sh
	$(PY) bench/run.py --mode quick $(BENCH_ARGS)

bench-scale: ## Whole benchmark suite on 5,000,000 petitions (cg_bench_scale; ~14 min + 15 min to generate)
	@scripts/bootstrap.sh --bench
	@scripts/services.sh
	$(PY) bench/run.py --mode scale $(BENCH_ARGS)

bench-growth: ## The last results of each bench mode side by side, growth flagged
	@$(PY) bench/run.py --growth

bench-locate: bootstrap ## Benchmark bulk assignment and grid_locate on PostGIS (not part of make test)
	@scripts/services.sh
	$(PY) bench/locate.py

bench-stats: bootstrap ## Statistics on 1,000,000 petitions beside hand-written SQL (PostGIS; STATS_ARGS="--runs 7 --more")
	@scripts/services.sh
	$(PY) bench/stats.py $(STATS_ARGS)

clean: ## Remove the embedded demo database and caches (keeps .venv)
	rm -rf var/civicgrid.sqlite3 var/staticfiles .pytest_cache .ruff_cache
