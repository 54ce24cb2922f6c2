# The few commands the README names. Everything installs itself on first use.
.PHONY: install run test lint lock up down status bench clean airflow-lock spark-lock duckdb-lock

install:
	scripts/install.sh

run: install  ## the main job: stack up, hours streamed end to end, reconciled counts
	.venv/bin/ghlake demo

test: install  ## lint, types, and every test against the real services
	.venv/bin/ruff check src tests bench spark airflow
	.venv/bin/ruff format --check src tests bench spark airflow
	.venv/bin/mypy
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check src tests bench spark airflow && .venv/bin/ruff format --check src tests bench spark airflow && .venv/bin/mypy

lock:  ## renew requirements.lock from pyproject.toml (the versions a fresh machine installs)
	$$(scripts/uv.sh) pip compile pyproject.toml --extra dev \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	  --no-header -o requirements.lock

airflow-lock:  ## renew airflow/requirements.lock (Airflow's own venv) from airflow/requirements.in
	$$(scripts/uv.sh) pip compile airflow/requirements.in \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	  --no-header -o airflow/requirements.lock

up: install
	scripts/up-all-services.sh

down:
	scripts/down-all-services.sh

status:
	.venv/bin/ghlake status

bench: install
	.venv/bin/python bench/producer.py
	.venv/bin/python bench/replay.py
	.venv/bin/python bench/warehouse.py
	.venv/bin/python bench/warehouse_wire.py
	.venv/bin/python bench/lake.py
	.venv/bin/python bench/lag.py
	.venv/bin/python bench/airflow_backfill.py
	.venv/bin/python bench/warehouse_mapping.py --events 50000
	.venv/bin/python bench/day.py --hours 2 --events-per-hour 50000

clean: down
	rm -rf .ghlake

spark-lock:  ## renew spark/requirements.lock (the Spark environment: spark/README.md)
	$$(scripts/uv.sh) pip compile pyproject.toml spark/requirements.in \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	  --no-header -o spark/requirements.lock

duckdb-lock:  ## renew minio/duckdb/requirements.lock (DuckDB with its delta extension: minio/README.md)
	$$(scripts/uv.sh) pip compile minio/duckdb/requirements.in \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	  --no-header -o minio/duckdb/requirements.lock
