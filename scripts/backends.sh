#!/usr/bin/env bash
# Builds the real trace and log stores the end-to-end tests run against, and
# caches them under $HOME/.cache/otelcol-dynamo/backends (a cache only: when it
# is missing they are built again from the Go module proxy).
#
#   scripts/backends.sh            build (if needed) and print NAME=PATH lines
#   scripts/backends.sh jaeger     only Jaeger v2 (trace store, OTLP in, tag search)
#   scripts/backends.sh victorialogs  only VictoriaLogs (Loki push API and OTLP logs in)
#
# Jaeger is built from a throw-away module of its own: it pins an older
# collector release and must never enter this repository's go.mod.
#
# Test packages run in parallel and each may call this script: a lock on the
# cache makes the others wait for one build instead of racing it.
set -euo pipefail

JAEGER_VERSION=v1.76.0
VICTORIALOGS_VERSION=v1.52.1
CACHE="${BACKENDS_CACHE:-$HOME/.cache/otelcol-dynamo/backends}"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

build_jaeger() {
  local dir="$CACHE/jaeger-$JAEGER_VERSION"
  if [ ! -x "$dir/jaeger" ]; then
    echo "backends: building Jaeger $JAEGER_VERSION (a few minutes when cold)" >&2
    local work
    work=$(mktemp -d)
    (
      cd "$work"
      go mod init backends.local/jaeger >/dev/null 2>&1
      go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" >&2
      mkdir -p "$dir"
      go build -o "$dir/jaeger.tmp.$$" github.com/jaegertracing/jaeger/cmd/jaeger >&2
      mv "$dir/jaeger.tmp.$$" "$dir/jaeger"
    )
    rm -rf "$work"
  fi
  echo "JAEGER_BIN=$dir/jaeger"
}

build_victorialogs() {
  local dir="$CACHE/victorialogs-$VICTORIALOGS_VERSION"
  if [ ! -x "$dir/victoria-logs" ]; then
    echo "backends: building VictoriaLogs $VICTORIALOGS_VERSION" >&2
    mkdir -p "$dir"
    GOBIN="$dir.tmp.$$" go install "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$VICTORIALOGS_VERSION" >&2
    mv "$dir.tmp.$$/victoria-logs" "$dir/victoria-logs"
    rmdir "$dir.tmp.$$"
  fi
  echo "VICTORIALOGS_BIN=$dir/victoria-logs"
}

case "${1:-all}" in
  jaeger) build_jaeger ;;
  victorialogs) build_victorialogs ;;
  all) build_victorialogs; build_jaeger ;;
  *) echo "usage: $0 [all|jaeger|victorialogs]" >&2; exit 2 ;;
esac
