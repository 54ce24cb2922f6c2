#!/usr/bin/env bash
# Start the whole stack (Kafka, MinIO, warehouse, lake writer) with health checks.
# Idempotent: services already running and healthy are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/ghlake up
