/**
 * testssl.sh against the HTTP router's HTTPS listener with its defaults (the same reading as
 * the sslrouter's, test/interop/testssl.ts): nothing "NOT ok" in the protocol, cipher-category
 * and forward-secrecy sections, TLS 1.2/1.3 only, AEAD with forward secrecy only. The control
 * listener (an RSA certificate with a NULL cipher and CBC suites allowed in CIPHERS) must be
 * flagged, so the check itself can fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uwrouterHttps } from './https-peers.ts';
import { nameB } from './sslrouter-peers.ts';
import { DEFAULT_LISTENER_LINES, notOk, testssl } from './testssl.ts';

test('testssl: the default HTTPS listener has nothing NOT ok; TLS 1.2/1.3, AEAD and forward secrecy only', {
  timeout: 200_000,
}, async () => {
  const ours = await uwrouterHttps(['--http-to', '127.0.0.1:1']);
  const { lines, all } = await testssl(ours.port, ['-p', '-s', '-f']);
  assert.deepEqual(notOk(lines), [], all);
  for (const want of DEFAULT_LISTENER_LINES) {
    assert.ok(
      lines.some((l) => want.test(l)),
      `${want}\n${all}`,
    );
  }
});

test('testssl control: an HTTPS listener weakened on purpose is flagged NOT ok', {
  timeout: 200_000,
}, async () => {
  const weak = await uwrouterHttps(
    ['--http-to', '127.0.0.1:1'],
    ',ECDHE-RSA-AES128-GCM-SHA256:NULL-SHA256:AES128-SHA:@SECLEVEL=0',
    nameB,
  );
  const { lines, all } = await testssl(weak.port, ['-p', '-s']);
  assert.ok(
    notOk(lines).some((l) => /^NULL ciphers/.test(l)),
    all,
  );
});
