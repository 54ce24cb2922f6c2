#!/usr/bin/env bash
# Set up everything ghlake needs on a fresh machine, idempotently:
# the Python environment (.venv), the Kafka jars (Maven Central) and the MinIO
# server (built from source with Go), both cached under ~/.cache/ghlake.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
for tool in "$PYTHON" java mvn go; do
  command -v "$tool" >/dev/null || { echo "ghlake needs $tool on PATH" >&2; exit 1; }
done

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.ghlake-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
.venv/bin/ghlake install
