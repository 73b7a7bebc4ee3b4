#!/usr/bin/env bash
# npm run bench: every router against its peers in one alternating run (bench/all.ts), with
# Node 24 from node_modules. Installs the real peers if missing (scripts/install-peers.sh),
# builds dist/ and measures it when it builds (else src/ with types stripped), raises the soft
# fd limit to the hard one (websocket tunnels need 2 fds each in the router). Every run is
# bounded: about 15 minutes in full, about a minute with --quick.
#   bash bench/run.sh [--quick] [--only ID,…] [--results] [--profile] …   (see bench/all.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

bash scripts/install-peers.sh

# Measure the compiled build when it compiles; otherwise Node runs src/ with types stripped.
ENTRY=src
if [[ -f src/cli.ts ]]; then
  if npx tsc -p tsconfig.build.json >/dev/null 2>&1 && [[ -f dist/cli.js ]]; then
    ENTRY=dist
  else
    echo "bench: the build failed; measuring src/cli.ts (types stripped by Node)" >&2
  fi
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec node bench/all.ts --entry "$ENTRY" "$@"
