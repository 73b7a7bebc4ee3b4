#!/usr/bin/env bash
# The whole test command (`npm test`): peers, lint, typecheck, unit + interop tests with a
# coverage floor for src/protocol and src/subscription, then the load lane (time and memory
# bounds, margins in test/load/margins.ts). Each *.test.ts runs in exactly one lane
# (test/test-lanes.test.ts checks the globs below and in package.json).
set -euo pipefail
cd "$(dirname "$0")/.."

# Node 24 from node_modules (npm puts node_modules/.bin first; make it so when run directly too).
export PATH="$PWD/node_modules/.bin:$PATH"

echo "== peers (scripts/install-peers.sh)"
if ! bash scripts/install-peers.sh; then
  echo "test: ERROR: the real peers (uWSGI, nginx, wrk, haproxy, openssl, curl) could not be provided;" >&2
  echo "test: the interop tests need them. Run scripts/install-peers.sh as root (or with sudo)." >&2
  exit 1
fi

echo "== lint (biome)"
npx biome check .

echo "== typecheck (tsc)"
npx tsc -p tsconfig.json --noEmit

echo "== tests (node --test): unit + interop"
node --version
# TAP keeps the summary lines (# tests, # pass, # fail) whether or not stdout is a terminal.
main=0
node --test --test-reporter=tap --test-concurrency=2 --test-timeout=120000 \
  --experimental-test-coverage \
  --test-coverage-include='src/protocol/**' --test-coverage-include='src/subscription/**' \
  --test-coverage-lines=80 \
  'test/**/!(*.load).test.ts' || main=$?

echo "== load lane (node --test, margins in test/load/margins.ts)"
# run even when the main lane failed (both results in one CI run); one file at a time: each
# measures latency or memory and must not compete with another
load=0
node --test --test-reporter=tap --test-concurrency=1 --test-timeout=300000 \
  'test/**/*.load.test.ts' || load=$?

if [ "$main" -ne 0 ] || [ "$load" -ne 0 ]; then
  echo "test: FAILED (main lane exit $main, load lane exit $load)" >&2
  exit 1
fi
