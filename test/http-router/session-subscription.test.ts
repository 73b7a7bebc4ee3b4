import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { encodeSubscription, type SubscriptionFields } from '../../src/protocol/subscription.ts';
import { startRouters } from '../../src/start.ts';
import { bodyOf, onCleanup, rawExchange, uwsgiNode, waitFor } from './fakes.ts';

async function send(port: number, cmd: 'subscribe' | 'unsubscribe', f: SubscriptionFields): Promise<void> {
  const r = encodeSubscription(cmd, f);
  assert.ok(r.ok);
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    s.send(r.packet, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
  );
  s.close();
}

function statusOf(out: string): number {
  return Number(out.slice(9, 12));
}

test('--http-subscription-server: subscribed keys route by Host; unknown keys 404, failed node 502, then 503', async () => {
  const { config } = loadConfig(
    ['--http', '127.0.0.1:0', '--http-subscription-server', '127.0.0.1:0', '--http-max-retries', '0'],
    {},
  );
  const running = await startRouters(config, silentLogger(), 'test');
  onCleanup(() => running.close());
  const [router] = running.routers;
  assert.equal(router.opts.name, 'http');
  const names = router.socketNames();
  const udp = Number(names[1].slice(names[1].lastIndexOf(':') + 1));
  const a = router.listeners[0].server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const n = await uwsgiNode((req) =>
    req.socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n${req.modifier1}${req.modifier2}`),
  );

  await send(udp, 'subscribe', { key: 'app.example:8080', address: n.address, modifier1: 5, modifier2: 3 });
  await waitFor(() => router.mapper?.knows?.('app.example:8080') === true);
  const ok = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: app.example:8080\r\n\r\n');
  // spec §2: the subscription node's modifiers go into the packet
  assert.equal(bodyOf(ok), '53');
  const unknown = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: other.example\r\n\r\n');
  assert.equal(statusOf(unknown), 404);

  // the node dies: its connect fails (502) and the node is marked failed
  await n.close();
  const bad = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: app.example:8080\r\n\r\n');
  assert.equal(statusOf(bad), 502);
  // the failed node was removed with its pool, but the key had a node within the
  // subscription tolerance: known without a live node (503), not "no such host" (issue item 10)
  assert.equal(router.mapper?.knows?.('app.example:8080'), true);
  const after = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: app.example:8080\r\n\r\n');
  assert.equal(statusOf(after), 503);
  await waitFor(() => router.activeSessions === 0);
});
