/**
 * testssl.sh (Debian's `testssl`) against the sslrouter's listener with its defaults: no
 * "NOT ok" in the protocol, cipher-category and forward-secrecy sections, and exactly the
 * protocols and categories uwrouter means to offer. A control listener made weak on purpose
 * (a NULL cipher in CIPHERS) must be flagged by the same reading, so the check
 * itself can fail. Bounded: only `-p -s -f`, each run killed after 150 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uwrouterSsl } from './sslrouter-peers.ts';
import { DEFAULT_LISTENER_LINES, notOk, testssl } from './testssl.ts';

test('testssl: the default sslrouter listener has nothing NOT ok; TLS 1.2/1.3, AEAD and forward secrecy only', {
  timeout: 200_000,
}, async () => {
  const ours = await uwrouterSsl(['--sslrouter-to', '127.0.0.1:1']);
  const { lines, all } = await testssl(ours.port, ['-p', '-s', '-f']);
  assert.deepEqual(notOk(lines), [], all);
  for (const want of DEFAULT_LISTENER_LINES) {
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
