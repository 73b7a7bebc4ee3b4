#!/usr/bin/env bash
# The whole test command (`npm test`): peers, lint, typecheck, unit + interop tests with a
# coverage floor for src/protocol and src/subscription.
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

echo "== tests (node --test)"
node --version
# TAP keeps the summary lines (# tests, # pass, # fail) whether or not stdout is a terminal.
node --test --test-reporter=tap --test-concurrency=2 --test-timeout=120000 \
  --experimental-test-coverage \
  --test-coverage-include='src/protocol/**' --test-coverage-include='src/subscription/**' \
  --test-coverage-lines=80 \
  'test/**/*.test.ts'
