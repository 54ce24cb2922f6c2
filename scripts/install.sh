#!/usr/bin/env bash
# Set up everything ghlake needs on a fresh machine, idempotently: Debian's
# PostgreSQL and kcat, the Python environment (.venv, exactly the versions of
# requirements.lock, hashes checked), the Kafka jars (Maven Central) and the
# MinIO server (built from source with Go), both cached under ~/.cache/ghlake, and
# docker-compose (in the background, for the compose files' tests).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages from Debian: PostgreSQL (the ledger's server in tests) and kcat (a bench peer).
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v kcat >/dev/null || missing+=(kcat)
# Prometheus (and promtool) scrape the stack; Chromium runs the live page's browser test.
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "ghlake needs these Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3.11}
for tool in "$PYTHON" java mvn go npm; do
  command -v "$tool" >/dev/null || { echo "ghlake needs $tool on PATH" >&2; exit 1; }
done

UV=$(scripts/uv.sh)
export UV_CACHE_DIR="$(dirname "$UV")/../../uv-cache"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The lock pins every package CI tested (make lock renews it from pyproject.toml);
# ghlake itself goes in editable, without resolving anything again.
stamp=.venv/.ghlake-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  # --compile-bytecode: machines that set PYTHONDONTWRITEBYTECODE (this one does) never
  # write .pyc files, so without them every Python process (each ghlake command, each
  # service) compiles its imports again: 8 CPU-seconds for the CLI's, 2.5 with them.
  "$UV" pip install --quiet --python .venv/bin/python --compile-bytecode --require-hashes -r requirements.lock
  "$UV" pip install --quiet --python .venv/bin/python --no-deps -e .
  touch "$stamp"
fi
# ghlake's own modules, editable: compiled again where a source changed (quick otherwise).
.venv/bin/python -m compileall -q -j 0 src >/dev/null
# With GHLAKE_INSTALL_OPTIONAL=1 (CI sets it) the optional parts' environments (Spark: venv and
# jars; Airflow: venv) download while the MinIO build keeps the CPU busy; otherwise they install
# on first use (`ghlake spark install`, `ghlake airflow install`, or `ghlake up --with ...`).
optional=()
if [ "${GHLAKE_INSTALL_OPTIONAL:-0}" = 1 ]; then
  .venv/bin/ghlake spark install >.venv/spark-install.log 2>&1 & optional+=($!)
  .venv/bin/ghlake airflow install >.venv/airflow-install.log 2>&1 & optional+=($!)
fi
.venv/bin/ghlake install
# docker-compose (built from the Go module proxy, once) validates the compose files in the
# tests. It builds in the background and is not waited for here: the tests that need it
# run it through scripts/docker-compose.sh, which waits on the same lock for this build.
# (Once built, the script only prints the binary's path.)
nohup scripts/docker-compose.sh >.venv/docker-compose-build.log 2>&1 &
for pid in "${optional[@]}"; do
  wait "$pid" || { cat .venv/spark-install.log .venv/airflow-install.log >&2; exit 1; }
done
# The live page's chart library (uPlot) from the npm registry, exactly as package-lock.json
# says, into the page's static assets; the download is cached under the cache dir.
page=src/ghlake/api/static
if [ ! -f "$page/node_modules/.ghlake-installed" ] || [ "$page/package-lock.json" -nt "$page/node_modules/.ghlake-installed" ]; then
  npm ci --prefix "$page" --cache "${GHLAKE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ghlake}/npm" \
    --no-audit --no-fund --loglevel=error >/dev/null
  touch "$page/node_modules/.ghlake-installed"
fi
