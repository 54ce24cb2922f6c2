#!/usr/bin/env bash
# Stop every service of the stack, last started first; no process is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/ghlake down
