/**
 * testssl.sh (Debian's `testssl`) against the sslrouter's listener with its defaults: no
 * "NOT ok" in the protocol, cipher-category and forward-secrecy sections, and exactly the
 * protocols and categories uwrouter means to offer. A control listener made weak on purpose
 * (a NULL cipher in CIPHERS) must be flagged by the same reading, so the check
 * itself can fail. Bounded: only `-p -s -f`, each run killed after 150 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runTool, uwrouterSsl } from './sslrouter-peers.ts';

/** testssl's sections of interest, as lines (`-p` protocols, `-s` categories, `-f` forward secrecy). */
async function testssl(port: number, sections: string[]): Promise<{ lines: string[]; all: string }> {
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

const notOk = (lines: string[]) => lines.filter((l) => /NOT ok/i.test(l));

test('testssl: the default sslrouter listener has nothing NOT ok; TLS 1.2/1.3, AEAD and forward secrecy only', {
  timeout: 200_000,
}, async () => {
  const ours = await uwrouterSsl(['--sslrouter-to', '127.0.0.1:1']);
  const { lines, all } = await testssl(ours.port, ['-p', '-s', '-f']);
  assert.deepEqual(notOk(lines), [], all);
  for (const want of [
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
  ]) {
    assert.ok(
      lines.some((l) => want.test(l)),
      `${want}\n${all}`,
    );
  }
});

test('testssl control: a listener weakened on purpose is flagged NOT ok by the same reading', {
  timeout: 200_000,
}, async () => {
  const weak = await uwrouterSsl(
    ['--sslrouter-to', '127.0.0.1:1'],
    ',ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0',
  );
  const { lines, all } = await testssl(weak.port, ['-p', '-s']);
  assert.ok(
    notOk(lines).some((l) => /^NULL ciphers/.test(l)),
    all,
  );
});
