/**
 * Subscription certificates through the whole start-up path (src/start.ts binds each TLS
 * router's SNI registry to its subscription system; spec: ssl-sni-sessions.md §4): a
 * subscribe datagram with sni_key/sni_crt makes the HTTPS listener (and the sslrouter) serve
 * that certificate for the key's name, stats say `sni_enabled: 1`, and the certificate goes
 * when the pool's last node leaves. Files outside --subscriptions-sni-dir are refused.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { loadConfig } from '../../src/config/index.ts';
import type { CoreRouter } from '../../src/corerouter/router.ts';
import { encodeSubscription, type SubscriptionFields } from '../../src/protocol/subscription.ts';
import { type RunningRouters, startRouters } from '../../src/start.ts';
import { captureLogger } from '../log-capture.ts';
import { TestCerts } from '../tls/test-certs.ts';
import { answer, onCleanup, uwsgiNode, waitFor } from './fakes.ts';

const certs = new TestCerts('https-sub');
const ca = certs.ca();
const listenerCert = certs.leaf(ca, 'default.example');
const subCert = certs.leaf(ca, 'app.example');
/** --subscriptions-sni-dir: the subscribed certificate is copied inside it */
const sniDir = certs.path('sni');
mkdirSync(sniDir);
copyFileSync(subCert.crt, join(sniDir, 'app.crt'));
copyFileSync(subCert.key, join(sniDir, 'app.key'));

function portOf(router: CoreRouter, i = 0): number {
  return (router.listeners[i].server.address() as { port: number }).port;
}

async function start(args: string[]): Promise<{ running: RunningRouters; lines: string[] }> {
  const { log, lines } = captureLogger();
  const running = await startRouters(loadConfig(args, {}).config, log, 'test');
  onCleanup(() => running.close());
  return { running, lines };
}

/** Sends one subscription datagram to 127.0.0.1:`port`. */
async function send(port: number, cmd: 'subscribe' | 'unsubscribe', f: SubscriptionFields): Promise<void> {
  const r = encodeSubscription(cmd, f);
  assert.ok(r.ok);
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    s.send(r.packet, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
  );
  s.close();
}

/** The CN of the certificate served for `servername`, and the answer to one HTTP/1.0 GET. */
function fetchOver(port: number, servername: string): Promise<{ cn: string; text: string }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({
      port,
      host: '127.0.0.1',
      servername,
      ca: readFileSync(ca.crt),
      checkServerIdentity: () => undefined,
    });
    let text = '';
    let cn = '';
    s.on('secureConnect', () => {
      cn = String(s.getPeerCertificate().subject?.CN ?? '');
      s.write('GET / HTTP/1.0\r\n\r\n');
    });
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    s.on('error', reject);
    s.on('close', () => resolve({ cn, text }));
  });
}

/** A free UDP port on 127.0.0.1 (bound, read, released). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const poolsOf = (router: CoreRouter) =>
  (
    router.statsDocument().subscriptions as { toJSON(): Array<{ key: string; sni_enabled: number }> }
  ).toJSON();

/** An HTTPS listener with a subscription server and --subscriptions-sni-dir; a node behind. */
async function httpsWithSubscriptions() {
  const node = await uwsgiNode(answer('from the node'));
  const udp = await freeUdpPort();
  const { running, lines } = await start([
    '--https',
    `127.0.0.1:0,${listenerCert.crt},${listenerCert.key}`,
    '--http-subscription-server',
    `127.0.0.1:${udp}`,
    '--subscriptions-sni-dir',
    sniDir,
  ]);
  return { node, udp, router: running.routers[0], lines };
}

/** Subscribes app.example with its certificate from --subscriptions-sni-dir; waits for its pool. */
async function subscribeAppWithSniDirCert(
  udp: number,
  nodeAddress: string,
  router: CoreRouter,
): Promise<void> {
  await send(udp, 'subscribe', {
    key: 'app.example',
    address: nodeAddress,
    sniKey: join(sniDir, 'app.key'),
    sniCrt: join(sniDir, 'app.crt'),
  });
  await waitFor(() => poolsOf(router).length === 1);
}

test('HTTPS: a subscribed certificate is served for its name while its node lives; sni_enabled follows', async () => {
  const { node, udp, router, lines } = await httpsWithSubscriptions();
  const port = portOf(router);
  await subscribeAppWithSniDirCert(udp, node.address, router);
  assert.deepEqual(
    poolsOf(router).map((p) => [p.key, p.sni_enabled]),
    [['app.example', 1]],
  );
  const hit = await fetchOver(port, 'app.example');
  assert.equal(hit.cn, 'app.example');
  assert.match(hit.text, /from the node$/);
  assert.equal((await fetchOver(port, 'other.example')).cn, 'default.example');
  assert.ok(
    lines.some((l) => /added SSL context for app\.example/.test(l)),
    lines.join('\n'),
  );

  await send(udp, 'unsubscribe', { key: 'app.example', address: node.address });
  await waitFor(() => poolsOf(router).length === 0);
  assert.equal((await fetchOver(port, 'app.example')).cn, 'default.example');
  assert.ok(
    lines.some((l) => /destroyed SSL context for app\.example/.test(l)),
    lines.join('\n'),
  );
});

test('HTTPS: a certificate outside --subscriptions-sni-dir is refused; the node is still routed', async () => {
  const { node, udp, router, lines } = await httpsWithSubscriptions();
  await send(udp, 'subscribe', {
    key: 'app.example',
    address: node.address,
    sniKey: subCert.key,
    sniCrt: subCert.crt,
  });
  await waitFor(() => poolsOf(router).length === 1);
  assert.equal(poolsOf(router)[0].sni_enabled, 0);
  const r = await fetchOver(portOf(router), 'app.example');
  assert.equal(r.cn, 'default.example');
  assert.match(r.text, /from the node$/);
  assert.ok(
    lines.some((l) =>
      /subscription certificate for "app\.example" refused: .*outside --subscriptions-sni-dir/.test(l),
    ),
  );
});

test('sslrouter: the same binding serves the subscribed certificate', async () => {
  const node = await uwsgiNode(answer('raw'));
  const udp = await freeUdpPort();
  const { running } = await start([
    '--sslrouter',
    `127.0.0.1:0,${listenerCert.crt},${listenerCert.key}`,
    '--sslrouter-sni',
    '--sslrouter-subscription-server',
    `127.0.0.1:${udp}`,
    '--subscriptions-sni-dir',
    sniDir,
  ]);
  const router = running.routers[0];
  await subscribeAppWithSniDirCert(udp, node.address, router);
  assert.equal(poolsOf(router)[0].sni_enabled, 1);
  assert.equal((await fetchOver(portOf(router), 'app.example')).cn, 'app.example');
});
