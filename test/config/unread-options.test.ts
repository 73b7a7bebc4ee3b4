/**
 * Every option whose status is 'implemented' must be read by something: start every router
 * that exists (fastrouter, rawrouter, HTTP, with subscription servers, stats, resubscribe) and the
 * subscriber, then compare the names read through Config's accessors with the registry. A
 * new option that nothing reads fails here until it is read or given a status.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, OPTIONS } from '../../src/config/index.ts';
import { isImplemented, statusOf } from '../../src/config/status.ts';
import { silentLogger } from '../../src/logger.ts';
import { processSettingsFromConfig } from '../../src/main.ts';
import { startRouters } from '../../src/start.ts';
import { TestCerts } from '../tls/test-certs.ts';

const certs = new TestCerts('unread');
const tlsCa = certs.ca();
const leaf = certs.leaf(tlsCa, 'localhost');
const ticketKeys = join(certs.dir, 'tickets.key');
writeFileSync(ticketKeys, randomBytes(48), { mode: 0o600 });

/** Handled by the loader while it parses (they shape the configuration, nothing reads them after). */
const READ_BY_THE_LOADER = new Set(['ini', 'set']);

const ARGS = [
  ['--fastrouter', '127.0.0.1:0'],
  ['--fastrouter-to', '127.0.0.1:1'],
  ['--fastrouter-fallback', '127.0.0.1:2'],
  ['--fastrouter-fallback-on-no-key'],
  ['--fastrouter-subscription-server', '127.0.0.1:0'],
  ['--fastrouter-subscription-fallback-key', 'fallback.example'],
  ['--fastrouter-resubscribe', '127.0.0.1:9'],
  ['--fastrouter-resubscribe-bind', '127.0.0.1:0'],
  ['--fastrouter-use-pattern', '/tmp/%s.sock'],
  ['--fastrouter-post-buffering', '65536'],
  ['--fastrouter-post-buffering-dir', tmpdir()],
  ['--fastrouter-use-base', '/tmp/'],
  ['--fastrouter-use-socket=0'],
  ['--fastrouter-connect-timeout', '3'],
  ['--fastrouter-stats', '127.0.0.1:0'],
  ['--fastrouter-enable-proxy-protocol'],
  ['--fastrouter-trusted-proxy', '127.0.0.1'],
  ['--socket', '127.0.0.1:3'],
  ['--rawrouter', '127.0.0.1:0'],
  ['--rawrouter-to', '127.0.0.1:5'],
  ['--rawrouter-fallback', '127.0.0.1:6'],
  ['--rawrouter-subscription-server', '127.0.0.1:0'],
  ['--rawrouter-use-pattern', '/tmp/%s.sock'],
  ['--rawrouter-use-base', '/tmp/'],
  ['--rawrouter-use-socket=0'],
  ['--rawrouter-connect-timeout', '3'],
  ['--rawrouter-stats', '127.0.0.1:0'],
  ['--rawrouter-xclient'],
  ['--rawrouter-proxy-protocol', '2'],
  ['--rawrouter-enable-proxy-protocol'],
  ['--rawrouter-trusted-proxy', '127.0.0.1'],
  ['--sslrouter', `127.0.0.1:0,${leaf.crt},${leaf.key}`],
  ['--sslrouter2', `addr=127.0.0.1:0,cert=${leaf.crt},key=${leaf.key},clientca=${tlsCa.crt}`],
  ['--sslrouter-to', '127.0.0.1:7'],
  ['--sslrouter-fallback', '127.0.0.1:8'],
  ['--sslrouter-subscription-server', '127.0.0.1:0'],
  ['--sslrouter-use-pattern', '/tmp/%s.sock'],
  ['--sslrouter-use-base', '/tmp/'],
  ['--sslrouter-use-socket=0'],
  ['--sslrouter-connect-timeout', '3'],
  ['--sslrouter-stats', '127.0.0.1:0'],
  ['--sslrouter-sni'],
  ['--sslrouter-session-context', 'unread-test'],
  ['--sslrouter-proxy-protocol', '2'],
  ['--sslrouter-enable-proxy-protocol'],
  ['--sslrouter-trusted-proxy', '127.0.0.1'],
  ['--sni', `a.example ${leaf.crt},${leaf.key}`],
  ['--sni-regexp', `^b\\. ${leaf.crt},${leaf.key}`],
  ['--sni-dir', certs.dir],
  ['--sni-dir-ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  ['--ssl-verify-depth', '2'],
  ['--ssl-sessions-timeout', '100'],
  ['--ssl-enable-tlsv1'],
  ['--ssl-verbose'],
  ['--ssl-handshake-timeout', '5'],
  ['--ssl-max-handshakes', '50'],
  ['--ssl-contexts-max', '10'],
  ['--ssl-contexts-max-mb', '8'],
  ['--ssl-ticket-keys', ticketKeys],
  ['--ssl-ticket-keys-rotation', '7200'],
  ['--ssl-sessions-use-cache=default'],
  ['--subscriptions-sni-dir', certs.dir],
  ['--http', '127.0.0.1:0'],
  ['--http-to-https', '127.0.0.1:0'],
  ['--https', `127.0.0.1:0,${leaf.crt},${leaf.key}`],
  ['--https2', `addr=127.0.0.1:0,cert=${leaf.crt},key=${leaf.key},clientca=!${tlsCa.crt}`],
  ['--https-session-context', 'unread-test'],
  ['--https-export-cert'],
  ['--http-to', '127.0.0.1:4'],
  ['--http-subscription-server', '127.0.0.1:0'],
  ['--http-resubscribe', '127.0.0.1:9'],
  ['--http-use-socket=0'],
  ['--http-headers-timeout', '5'],
  ['--http-connect-timeout', '5'],
  ['--http-stats', '127.0.0.1:0'],
  ['--subscribe-to', '127.0.0.1:9:example.com'],
  ['--subscribe2', 'server=127.0.0.1:9,key=other.example'],
  ['--subscribe-with-modifier1', '5'],
  ['--subscriptions-sign-check', 'sha256:/nonexistent'],
  // caches: the old-style one with UDP sync, a cache2, the mappers and the instance stats
  ['--cache', '10'],
  ['--cache-blocksize', '4096'],
  ['--cache-udp-server', '127.0.0.1:0'],
  ['--cache-udp-node', '127.0.0.1:9'],
  ['--cache-use-last-modified'],
  ['--cache-expire-freq', '5'],
  ['--cache-report-freed-items'],
  ['--cache-store-sync', '30'],
  ['--cache2', 'name=routes,items=10'],
  ['--add-cache-item', 'routes example.com=127.0.0.1:4'],
  ['--http-use-cache=routes'],
  ['--stats', '127.0.0.1:0'],
].flat();

test('every implemented option is read when the routers and the subscriber start', async () => {
  const { config } = loadConfig(ARGS, {});
  processSettingsFromConfig(config);
  const running = await startRouters(config, silentLogger(), 'test');
  await running.close();
  // options of a router that cannot run yet (every listener refused) wait for that router
  const runnable = new Set(OPTIONS.filter((o) => o.listener && isImplemented(o)).map((o) => o.group));
  const routerGroups = new Set(OPTIONS.filter((o) => o.listener).map((o) => o.group));
  const unread = OPTIONS.filter(
    (o) =>
      isImplemented(o) &&
      !(routerGroups.has(o.group) && !runnable.has(o.group)) &&
      !READ_BY_THE_LOADER.has(o.name) &&
      !config.readNames.has(o.name),
  ).map((o) => o.name);
  assert.deepEqual(unread, [], 'implemented options nothing reads: read them or give them a status');
});

test('options with a status are not mistaken for implemented ones', () => {
  for (const name of ['chroot', 'cache-sync', 'fastrouter-zerg']) {
    const spec = OPTIONS.find((o) => o.name === name);
    assert.ok(spec, name);
    const st = statusOf(spec);
    assert.ok(typeof st === 'object' && 'refuse' in st, `${name} is refused`);
  }
});
