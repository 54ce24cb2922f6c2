#!/usr/bin/env bash
# Print the path of the pinned uv, installing it from PyPI into the cache once.
# uv installs and renews ghlake's locks: about three times faster than pip on a cold
# cache. Its downloads are cached under the cache directory like everything else.
set -euo pipefail
UV_VERSION=0.13.9
CACHE_DIR=${GHLAKE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ghlake}
UV="$CACHE_DIR/uv/bin/uv"
installed() { [ "$("$UV" --version 2>/dev/null | cut -d' ' -f1-2)" = "uv $UV_VERSION" ]; }
if ! installed; then
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/uv.lock"
  flock 9  # another checkout's install may be filling the same cache
fi
if ! installed; then
  "${PYTHON:-python3.11}" -m venv "$CACHE_DIR/uv"
  "$CACHE_DIR/uv/bin/pip" install --quiet "uv==$UV_VERSION"
fi
echo "$UV"
