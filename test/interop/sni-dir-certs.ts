/**
 * An `--sni-dir` of many generated names (NAME.crt + NAME.key, the layout uWSGI reads), for
 * the interop test, the load lane and the benchmark: one openssl run per certificate from a
 * bash loop (one process for the whole set), every certificate self-signed with one shared
 * ECDSA P-256 key (what is measured is the router's cost per name, not key generation).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/** The i-th generated name (0-based). */
export function sniDirName(i: number): string {
  return `name-${i}.sni.example`;
}

/** Fills `dir` with `n` names; returns the directory. Takes ~8 ms per name. */
export function makeSniDir(dir: string, n: number): string {
  mkdirSync(dir, { recursive: true });
  const script = `
set -euo pipefail
cd "$1"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out shared.key 2>/dev/null
for ((i = 0; i < $2; i++)); do
  n="name-$i.sni.example"
  openssl req -new -x509 -key shared.key -subj "/CN=$n" -addext "subjectAltName=DNS:$n" -days 30 -out "$n.crt" 2>/dev/null
  ln -s shared.key "$n.key"
done
`;
  execFileSync('bash', ['-c', script, 'make-sni-dir', dir, String(n)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return dir;
}
