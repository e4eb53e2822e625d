# The two commands (see README.md): `make run` starts the whole system, `make test` checks it.
.PHONY: bootstrap run test lint typecheck unit benchmark benchmark-gateway benchmark-contact asyncapi

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	.venv/bin/devstack up

test: bootstrap lint typecheck
	.venv/bin/pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy

unit: bootstrap
	.venv/bin/pytest tests/unit tests/contract tests/deployment

benchmark-gateway: bootstrap
	.venv/bin/python -m benchmarks.gateway_reads

benchmark-contact: bootstrap
	.venv/bin/python -m benchmarks.contact_permits
	.venv/bin/python -m benchmarks.contact_month
	.venv/bin/python -m benchmarks.contact_cancellation
	.venv/bin/python -m benchmarks.contact_openings
	.venv/bin/python -m benchmarks.contact_batches

asyncapi: bootstrap
	.venv/bin/python scripts/generate_asyncapi.py

benchmark: bootstrap
	.venv/bin/python -m benchmarks.aging_throughput
	.venv/bin/python -m benchmarks.day_close
