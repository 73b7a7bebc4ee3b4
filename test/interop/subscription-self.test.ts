/**
 * Issue item 0b — "one unsigned datagram subscribing http://<the router's own listener>
 * makes one request open connections to itself until the file descriptors run out;
 * subscribing the stats port serves the stats JSON on the public port". The real CLI with
 * two routers: a subscription naming any listener or stats socket of either is refused and
 * counted as `self`; the key stays unknown (404), and a real node on the key still works.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { encodeSubscription } from '../../src/protocol/subscription.ts';
import {
  freePort,
  httpGet,
  pollUntil,
  readStatsJson,
  startUwrouter,
  startUwsgiNode,
} from './harness/index.ts';

interface Stats {
  subscriptions: Array<{ key: string; nodes: Array<{ name: string }> }>;
  subscription_packets: { datagrams: number; rejected: Record<string, number> };
}

test('subscriptions naming the process’s own listeners or stats sockets are refused (self)', {
  timeout: 60000,
}, async () => {
  const [http, fast, sub, httpStats, fastStats] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const router = await startUwrouter(
    [
      '--http',
      `127.0.0.1:${http}`,
      '--http-subscription-server',
      `127.0.0.1:${sub}`,
      '--http-stats',
      `127.0.0.1:${httpStats}`,
      '--fastrouter',
      `127.0.0.1:${fast}`,
      '--fastrouter-stats',
      `127.0.0.1:${fastStats}`,
      '--fastrouter-to',
      '127.0.0.1:9', // any node: the fastrouter only has to listen
    ],
    // the HTTP listener is up before the subscription server: wait for the latter
    { readyPattern: /subscription server bound on/ },
  );
  const own = [
    `http://127.0.0.1:${http}`, // the request loop
    `http://localhost:${http}`,
    `http://127.1:${http}`,
    `127.0.0.1:${httpStats}`, // stats on the public port
    `http://127.0.0.1:${httpStats}`,
    `127.0.0.1:${fast}`, // another router of the same process
    `:${fastStats}`,
  ];
  const udp = createSocket('udp4');
  await Promise.all(
    own.map((address) => {
      const p = encodeSubscription('subscribe', { key: 'loop.test', address });
      assert.ok(p.ok);
      return new Promise<void>((r) => udp.send(p.packet, sub, '127.0.0.1', () => r()));
    }),
  );
  udp.close();
  const s = await pollUntil('all datagrams read', async () => {
    const st = await readStatsJson<Stats>(httpStats);
    return st.subscription_packets.datagrams >= own.length ? st : undefined;
  });
  assert.equal(s.subscription_packets.rejected.self, own.length);
  assert.equal(
    s.subscriptions.find((p) => p.key === 'loop.test'),
    undefined,
  );
  const res = await httpGet(`http://127.0.0.1:${http}/`, { headers: { host: 'loop.test' }, timeoutMs: 5000 });
  assert.equal(res.status, 404);
  assert.match(
    router.logs(),
    /subscription rejected \(self\) for key "loop\.test": node "http:\/\/127\.0\.0\.1:\d+" is one of this router's own listening sockets/,
  );

  // a real node on the key is still accepted
  const node = await startUwsgiNode({
    app: 'whoami.py',
    name: 'real',
    args: ['--subscribe-to', `127.0.0.1:${sub}:loop.test`],
  });
  await pollUntil('the real node routes', async () => {
    const r = await httpGet(`http://127.0.0.1:${http}/`, { headers: { host: 'loop.test' } });
    return r.text === 'real' ? true : undefined;
  });
  await node.stop();
  await router.stop();
});
