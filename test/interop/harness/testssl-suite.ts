/**
 * The two testssl.sh tests every TLS listener gets (test/interop/testssl.ts reads the output):
 * the listener with uwrouter's default TLS settings has nothing "NOT ok" in the protocol,
 * cipher-category and forward-secrecy sections and shows exactly DEFAULT_LISTENER_LINES; a
 * control listener weakened on purpose (a NULL cipher in CIPHERS) is flagged by the same
 * reading, so the check itself can fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LISTENER_LINES, notOk, testssl } from '../testssl.ts';

export interface TestsslListeners {
  /** what the listener is, for the test names: "sslrouter listener" */
  what: string;
  /** starts the listener with the default TLS settings */
  start(): Promise<{ port: number }>;
  /** starts a listener that offers a NULL cipher */
  startWeak(): Promise<{ port: number }>;
}

export function testsslSuite(l: TestsslListeners): void {
  test(`testssl: the default ${l.what} has nothing NOT ok; TLS 1.2/1.3, AEAD and forward secrecy only`, {
    timeout: 200_000,
  }, async () => {
    const ours = await l.start();
    const { lines, all } = await testssl(ours.port, ['-p', '-s', '-f']);
    assert.deepEqual(notOk(lines), [], all);
    for (const want of DEFAULT_LISTENER_LINES) {
      assert.ok(
        lines.some((line) => want.test(line)),
        `${want}\n${all}`,
      );
    }
  });

  test(`testssl control: the ${l.what} weakened on purpose is flagged NOT ok by the same reading`, {
    timeout: 200_000,
  }, async () => {
    const weak = await l.startWeak();
    const { lines, all } = await testssl(weak.port, ['-p', '-s']);
    assert.ok(
      notOk(lines).some((line) => /^NULL ciphers/.test(line)),
      all,
    );
  });
}
