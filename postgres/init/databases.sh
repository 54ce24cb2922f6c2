#!/usr/bin/env bash
# Run once by the postgres image on an empty data directory: a role and a database for each
# client of the server. Passwords come from the container's environment (compose's required
# variables), never from this file.
set -euo pipefail
for client in ghlake:GHLAKE_LEDGER_PASSWORD airflow:AIRFLOW_DB_PASSWORD metabase:METABASE_DB_PASSWORD; do
  name=${client%%:*}
  variable=${client##*:}
  password=${!variable}
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
SQL
done
