# syntax=docker/dockerfile:1
# The one ghlake image for every Python service of a compose deployment: the API, the live
# poller and replay jobs (producer/), the lake writer workers (stream-processors/), the
# warehouse schema job (clickhouse/). `docker compose build` builds it once from the root of
# the checkout; each service picks its command (`ghlake api serve`, `ghlake worker` ...).

# The live page's chart library, exactly as package-lock.json says (what install.sh does).
FROM node:22-bookworm-slim AS page
WORKDIR /page
COPY src/ghlake/api/static/package.json src/ghlake/api/static/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/ghlake/venv \
    PATH=/opt/ghlake/venv/bin:$PATH
# Dependencies first, in their own layer: exactly the versions CI tested, hashes checked.
COPY requirements.lock /opt/ghlake/requirements.lock
RUN python -m venv /opt/ghlake/venv \
 && pip install --require-hashes -r /opt/ghlake/requirements.lock
# The checkout's service folders (clickhouse/ DDL, metabase/ content, airflow/dags ...) are
# read at run time through settings.root, so the package is installed editable in place.
COPY . /opt/ghlake/src-tree
COPY --from=page /page/node_modules /opt/ghlake/src-tree/src/ghlake/api/static/node_modules
# PYTHONDONTWRITEBYTECODE keeps the non-root user from writing .pyc files at run time, so
# they are all written here: without them each process compiles its imports on every start.
RUN pip install --no-deps -e /opt/ghlake/src-tree \
 && python -m compileall -q /opt/ghlake/venv/lib /opt/ghlake/src-tree/src \
 && useradd --system --uid 10001 --home-dir /var/lib/ghlake --create-home ghlake
WORKDIR /var/lib/ghlake
# State (the spool of downloaded hours, the SQLite ledger when no PostgreSQL is configured).
ENV GHLAKE_HOME=/var/lib/ghlake \
    GHLAKE_CACHE_DIR=/var/lib/ghlake/cache \
    GHLAKE_PROJECT_ROOT=/opt/ghlake/src-tree
USER ghlake
ENTRYPOINT ["ghlake"]
CMD ["--help"]
