# Praxis — the two commands: `make run` (serve on http://127.0.0.1:8000) and `make test`.
# DB=postgres: set up PostgreSQL and serve on it (scripts/postgres.sh); SQLite by default.
.PHONY: setup run test unit integration lint bench clean

DB ?= sqlite
export PRAXIS_POSTGRES_ENV ?= /etc/praxis/postgres.env
# The unit tests that use the database, run again on PostgreSQL by `make test`.
DATABASE_TESTS = api_roles backup_postgres consoles fleet incidents leases listing live_tables \
    metrics overrides params pool replica session_page signin sittings staff_formats terminals \
    tick topology
POSTGRES_TESTS = $(patsubst %,tests/unit/test_%.py,$(DATABASE_TESTS))

setup:
	@DB=$(DB) bash scripts/setup.sh

run: setup
	@if [ "$(DB)" = postgres ]; then set -a; . "$$PRAXIS_POSTGRES_ENV"; set +a; fi; \
	    .venv/bin/praxis serve

test: setup lint
	bash scripts/postgres.sh  # the database's tests also run on PostgreSQL (the last line)
	.venv/bin/pytest -q --durations=25 tests  # the slowest tests listed: where the time goes
	PRAXIS_TEST_DB=postgres .venv/bin/pytest -q $(POSTGRES_TESTS)

unit: setup
	.venv/bin/pytest -q tests/unit

integration: setup
	.venv/bin/pytest -q tests/integration

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

bench: setup
	.venv/bin/python bench/run.py
	.venv/bin/python bench/grading.py
	.venv/bin/python bench/web.py
	.venv/bin/python bench/vm.py
	.venv/bin/python bench/links.py
	.venv/bin/python bench/disk.py
	.venv/bin/python bench/pool.py
	bash scripts/postgres.sh && .venv/bin/python bench/scale.py

clean:
	.venv/bin/praxis reap || true
	rm -rf var
