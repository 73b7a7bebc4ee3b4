import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import {
  tlsListenersFromConfig,
  tlsRuntimeFromConfig,
  tlsSettingsFromConfig,
} from '../../src/tls/from-config.ts';
import { DEFAULT_CIPHERS } from '../../src/tls/tls-settings.ts';
import { captureLogger } from './registry-harness.ts';
import { TestCerts } from './test-certs.ts';

const certs = new TestCerts('from-config');
const ca = certs.ca();
const a = certs.leaf(ca, 'a.example');
const b = certs.leaf(ca, 'b.example');
const expired = certs.leaf(ca, 'old.example', {
  notBefore: new Date('2020-01-01T00:00:00Z'),
  notAfter: new Date('2020-02-01T00:00:00Z'),
});
const notCert = certs.file('notes.txt', 'this is not a certificate\n');

function config(args: string[]) {
  return loadConfig(args, {}).config;
}

test('settings: secure defaults, and each ssl-* option', () => {
  const d = tlsSettingsFromConfig(config([]));
  assert.equal(d.minVersion, 'TLSv1.2');
  assert.equal(d.ciphers, DEFAULT_CIPHERS);
  assert.equal(d.verifyDepth, 1);
  assert.equal(d.sessionTimeout, 300);
  assert.equal(d.inlinePem, false);
  assert.equal(d.sniDirCiphers, undefined);
  assert.equal(d.handshakeTimeoutMs, 10_000);
  assert.equal(d.maxHandshakes, 1000);
  assert.equal(d.maxContexts, 1000);
  assert.equal(d.maxContextBytes, 64 * 1024 * 1024);
  assert.equal(d.subscriptionsSniDir, undefined);
  const s = tlsSettingsFromConfig(
    config([
      '--ssl-enable-tlsv1',
      '--ssl-verify-depth',
      '3',
      '--ssl-sessions-timeout',
      '60',
      '--ssl-tmp-dir',
      '/tmp',
      '--sni-dir-ciphers',
      'ECDHE-RSA-AES128-GCM-SHA256',
      '--ssl-verbose',
      '--ssl-handshake-timeout',
      '3',
      '--ssl-max-handshakes',
      '20',
      '--ssl-contexts-max',
      '7',
      '--ssl-contexts-max-mb',
      '5',
      '--subscriptions-sni-dir',
      '/etc/ssl',
    ]),
  );
  assert.equal(s.minVersion, 'TLSv1');
  assert.equal(s.verifyDepth, 3);
  assert.equal(s.sessionTimeout, 60);
  assert.equal(s.inlinePem, true);
  assert.equal(s.sniDirCiphers, 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.equal(s.verbose, true);
  assert.equal(s.handshakeTimeoutMs, 3000);
  assert.equal(s.maxHandshakes, 20);
  assert.equal(s.maxContexts, 7);
  assert.equal(s.maxContextBytes, 5 * 1024 * 1024);
  assert.equal(s.subscriptionsSniDir, '/etc/ssl');
});

test('--sni/--sni-regexp certificates are checked at start-up; errors name the file', () => {
  const { log } = captureLogger();
  const ok = tlsRuntimeFromConfig(
    config(['--sni', `a.example ${a.crt},${a.key}`, '--sni-regexp', `^b\\. ${b.crt},${b.key}`]),
    log,
  );
  assert.equal(ok.registry.lookup('a.example')?.name, 'a.example');
  assert.equal(ok.registry.lookup('b.example')?.source, 'sni-regexp');
  assert.equal(ok.store.size, 2, 'built at start-up');
  const cases: Array<[string, RegExp]> = [
    [`x.example ${notCert},${a.key}`, /notes\.txt: is not a PEM certificate/],
    [
      `x.example ${a.crt},${b.key}`,
      /b\.example\.ecdsa\.key: private key does not match the certificate .*a\.example\.ecdsa\.crt/,
    ],
    [
      `x.example ${expired.crt},${expired.key}`,
      /old\.example\.ecdsa\.crt: certificate expired on 2020-02-01/,
    ],
    [`x.example ${certs.path('nope.crt')},${a.key}`, /nope\.crt: cannot read it \(ENOENT\)/],
  ];
  for (const [value, message] of cases) {
    assert.throws(
      () => tlsRuntimeFromConfig(config(['--sni', value]), log),
      (e: Error) =>
        e instanceof ConfigError && message.test(e.message) && e.message.startsWith('--sni "x.example"'),
      value,
    );
  }
  assert.throws(
    () => tlsRuntimeFromConfig(config(['--sni-dir', notCert]), log),
    /--sni-dir .*notes\.txt: not a directory/,
  );
});

test('listeners: --https then --https2, session id context the option, else one constant', () => {
  const { log } = captureLogger();
  const args = [
    '--https',
    `127.0.0.1:8443,${a.crt},${a.key}`,
    '--https2',
    `addr=127.0.0.1:9443,cert=${b.crt},key=${b.key}`,
  ];
  const c = config(args);
  const runtime = tlsRuntimeFromConfig(c, log);
  const listeners = tlsListenersFromConfig(runtime, c, 'http', log);
  assert.deepEqual(
    listeners.map((l) => [l.spec.option, l.spec.address, l.sessionIdContext]),
    [
      // one constant, not uWSGI's http-ADDR: nodes on other addresses resume each other's sessions
      ['https', '127.0.0.1:8443', 'uwrouter'],
      ['https2', '127.0.0.1:9443', 'uwrouter'],
    ],
  );
  const named = config([...args, '--https-session-context', 'cluster-1']);
  assert.deepEqual(
    tlsListenersFromConfig(tlsRuntimeFromConfig(named, log), named, 'http', log).map(
      (l) => l.sessionIdContext,
    ),
    ['cluster-1', 'cluster-1'],
  );
  const ssl = config([
    '--sslrouter',
    `127.0.0.1:7443,${a.crt},${a.key}`,
    '--sslrouter-session-context',
    'ssl-ctx',
  ]);
  assert.deepEqual(
    tlsListenersFromConfig(tlsRuntimeFromConfig(ssl, log), ssl, 'sslrouter', log).map(
      (l) => l.sessionIdContext,
    ),
    ['ssl-ctx'],
  );
  const sslDefault = config(['--sslrouter', `127.0.0.1:7443,${a.crt},${a.key}`]);
  assert.deepEqual(
    tlsListenersFromConfig(tlsRuntimeFromConfig(sslDefault, log), sslDefault, 'sslrouter', log).map(
      (l) => l.sessionIdContext,
    ),
    ['uwrouter'],
  );
  const bad = config(['--https', `127.0.0.1:8443,${expired.crt},${expired.key}`]);
  assert.throws(
    () => tlsListenersFromConfig(tlsRuntimeFromConfig(bad, log), bad, 'http', log),
    /--https 127\.0\.0\.1:8443: .*old\.example\.ecdsa\.crt: certificate expired/,
  );
});

test('inline PEM with --ssl-tmp-dir: in --sni values and in subscription packets', () => {
  const { log } = captureLogger();
  const crt = readFileSync(a.crt, 'latin1');
  const key = readFileSync(a.key, 'latin1');
  const c = config([
    '--ssl-tmp-dir',
    certs.dir,
    '--subscriptions-sni-dir',
    certs.dir,
    '--sni',
    `inline.example ${crt},${key}`,
  ]);
  const runtime = tlsRuntimeFromConfig(c, log);
  assert.equal(runtime.registry.lookup('inline.example')?.source, 'sni');
  runtime.registry.attachSubscription('pushed.example:443', { key, crt });
  assert.equal(runtime.registry.lookup('pushed.example')?.source, 'subscription');
  assert.throws(
    () => tlsRuntimeFromConfig(config(['--sni', `inline.example ${crt},${key}`]), log),
    /inline PEM is only accepted with --ssl-tmp-dir/,
  );
});

test('--https2 spdy=..: the listener runs, with one warning that SPDY is not implemented', () => {
  const { log, lines } = captureLogger();
  const c = config(['--https2', `addr=127.0.0.1:9443,cert=${a.crt},key=${a.key},spdy=1`]);
  const listeners = tlsListenersFromConfig(tlsRuntimeFromConfig(c, log), c, 'http', log);
  assert.equal(listeners.length, 1);
  assert.deepEqual(lines, [
    '[uwrouter] --https2 127.0.0.1:9443: spdy ignored: SPDY is not implemented (clients speak HTTP/1.1 over TLS)',
  ]);
});
