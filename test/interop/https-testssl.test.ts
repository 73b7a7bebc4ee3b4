/**
 * testssl.sh against the HTTP router's HTTPS listener with its defaults (the same reading as
 * the sslrouter's, harness/testssl-suite.ts): nothing "NOT ok" in the protocol, cipher-category
 * and forward-secrecy sections, TLS 1.2/1.3 only, AEAD with forward secrecy only. The control
 * listener (an RSA certificate with a NULL cipher and CBC suites allowed in CIPHERS) must be
 * flagged, so the check itself can fail.
 */
import { testsslSuite } from './harness/testssl-suite.ts';
import { uwrouterHttps } from './https-peers.ts';
import { nameB } from './sslrouter-peers.ts';

testsslSuite({
  what: 'HTTPS listener',
  start: () => uwrouterHttps(['--http-to', '127.0.0.1:1']),
  startWeak: () =>
    uwrouterHttps(
      ['--http-to', '127.0.0.1:1'],
      ',ECDHE-RSA-AES128-GCM-SHA256:NULL-SHA256:AES128-SHA:@SECLEVEL=0',
      nameB,
    ),
});
