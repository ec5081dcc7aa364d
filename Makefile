# Praxis — the two commands: `make run` (serve on http://127.0.0.1:8000) and `make test`.
.PHONY: setup run test unit integration lint bench clean

setup:
	@bash scripts/setup.sh

run: setup
	.venv/bin/praxis serve

test: setup lint
	.venv/bin/pytest -q --durations=25 tests  # the slowest tests listed: where the time goes

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

clean:
	.venv/bin/praxis reap || true
	rm -rf var
