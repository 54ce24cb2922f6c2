#!/usr/bin/env bash
# Print the path of the pinned docker-compose, building it from the Go module proxy into the
# cache once. Docker Compose v2 is a Go module, but `go install` refuses it (its go.mod has
# exclude directives), so the module is downloaded and built inside its own folder. The tests
# run `docker-compose config`, which parses and validates a file without a Docker engine.
set -euo pipefail
COMPOSE_VERSION=v2.40.3
CACHE_DIR=${GHLAKE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ghlake}
OUT="$CACHE_DIR/bin/docker-compose-$COMPOSE_VERSION"
if [ ! -x "$OUT" ]; then
  command -v go >/dev/null || { echo "building docker-compose needs go on PATH" >&2; exit 1; }
  export GOMODCACHE="$CACHE_DIR/go/mod" GOCACHE="$CACHE_DIR/go/build" GOFLAGS=-modcacherw
  mkdir -p "$CACHE_DIR/bin"
  # Two builds at once (install.sh in the background, a test) must not both write $OUT.
  exec 9>"$CACHE_DIR/bin/.docker-compose.lock"
  flock 9
  if [ ! -x "$OUT" ]; then
    module=$(cd "$CACHE_DIR" && go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$module" ] || { echo "go mod download of docker compose $COMPOSE_VERSION failed" >&2; exit 1; }
    (cd "$module" && go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
      -o "$OUT.tmp" ./cmd)
    mv "$OUT.tmp" "$OUT"
  fi
fi
echo "$OUT"
