"""Orchestration: what Airflow's DAGs and ``ghlake backfill`` call.

``airflow_api`` is the client of Airflow's REST API (backfills and their runs);
``maintenance`` is the lake-and-warehouse upkeep the compaction DAG runs.
"""
