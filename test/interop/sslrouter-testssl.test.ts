/**
 * testssl.sh (Debian's `testssl`) against the sslrouter's listener with its defaults: no
 * "NOT ok" in the protocol, cipher-category and forward-secrecy sections, and exactly the
 * protocols and categories uwrouter means to offer. A control listener made weak on purpose
 * (a NULL cipher in CIPHERS) must be flagged by the same reading, so the check
 * itself can fail. Bounded: only `-p -s -f`, each run killed after 150 s
 * (harness/testssl-suite.ts).
 */
import { testsslSuite } from './harness/testssl-suite.ts';
import { uwrouterSsl } from './sslrouter-peers.ts';

testsslSuite({
  what: 'sslrouter listener',
  start: () => uwrouterSsl(['--sslrouter-to', '127.0.0.1:1']),
  startWeak: () =>
    uwrouterSsl(
      ['--sslrouter-to', '127.0.0.1:1'],
      ',ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0',
    ),
});
