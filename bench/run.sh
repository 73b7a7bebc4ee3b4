#!/usr/bin/env bash
# Benchmarks against the real peers (npm run bench): installs them if missing, then runs the
# fastrouter side by side with Node 24 from node_modules. Bounded: each wrk run ≤ 5 s.
# Extra arguments go to the bench, e.g. bench/run.sh --rounds 5 --json bench/out/fr.json
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

echo "node $(node --version), $(uwsgi --version | sed 's/^/uWSGI /'), $(nginx -v 2>&1 | sed 's/.*: //'), $(nproc) CPUs"
node bench/fastrouter-bench.ts --entry "$ENTRY" "$@"
