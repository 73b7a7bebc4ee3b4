/**
 * testssl.sh (Debian's `testssl`) against a TLS listener on 127.0.0.1: the sections asked
 * for (`-p` protocols, `-s` cipher categories, `-f` forward secrecy), as trimmed lines, and
 * the lines flagged "NOT ok". Bounded: the run is killed after 150 s.
 */
import assert from 'node:assert/strict';
import { runTool } from './sslrouter-peers.ts';

export async function testssl(port: number, sections: string[]): Promise<{ lines: string[]; all: string }> {
  const r = await runTool(
    'testssl',
    ['--quiet', '--color', '0', '--warnings', 'off', ...sections, '--ip', '127.0.0.1', `127.0.0.1:${port}`],
    { timeoutMs: 150_000 },
  );
  assert.equal(r.timedOut, false, 'testssl finished in time');
  const all = `${r.stdout}${r.stderr}`;
  assert.match(all, /Testing protocols/, all);
  return { lines: all.split('\n').map((l) => l.trim()), all };
}

export const notOk = (lines: string[]): string[] => lines.filter((l) => /NOT ok/i.test(l));

/** What a listener with uwrouter's default TLS settings must show (protocols, categories, PFS). */
export const DEFAULT_LISTENER_LINES: readonly RegExp[] = [
  /^SSLv2\s+not offered \(OK\)$/,
  /^SSLv3\s+not offered \(OK\)$/,
  /^TLS 1\s+not offered$/,
  /^TLS 1\.1\s+not offered$/,
  /^TLS 1\.2\s+offered \(OK\)$/,
  /^TLS 1\.3\s+offered \(OK\)/,
  /^NULL ciphers \(no encryption\)\s+not offered \(OK\)$/,
  /^Triple DES Ciphers \/ IDEA\s+not offered$/,
  /^Obsolete CBC ciphers \(AES, ARIA etc\.\)\s+not offered$/,
  /^Strong encryption \(AEAD ciphers\)\s+offered \(OK\)$/,
  /^PFS is offered \(OK\)/,
];
