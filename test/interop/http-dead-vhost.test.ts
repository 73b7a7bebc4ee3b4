/**
 * Issue item 10 (the subscription half) — "after `kill -9` of a subscribed node, the next
 * requests get `404 no such host is configured here`. A key that had nodes within the
 * subscription tolerance is a known key without a live node: 503 … until the tolerance
 * expires." A real uWSGI node subscribed to uwrouter's HTTP router, killed with SIGKILL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, httpGet, pollUntil, startUwrouter, startUwsgiNode } from './harness/index.ts';

test('kill -9 of the only node of a vhost: 503 for the tolerance, then 404', { timeout: 60000 }, async () => {
  const [port, subPort] = await Promise.all([freePort(), freePort()]);
  const router = await startUwrouter([
    '--http',
    `127.0.0.1:${port}`,
    '--http-subscription-server',
    `127.0.0.1:${subPort}`,
    '--subscription-tolerance',
    '3',
  ]);
  const url = `http://127.0.0.1:${port}/`;
  const get = (host: string) => httpGet(url, { headers: { host }, timeoutMs: 5000 });
  assert.equal((await get('dead.test')).status, 404, 'never subscribed: no such host');
  const node = await startUwsgiNode({
    app: 'whoami.py',
    name: 'doomed',
    args: ['--subscribe-to', `127.0.0.1:${subPort}:dead.test`],
  });
  await pollUntil('routed', async () => ((await get('dead.test')).text === 'doomed' ? true : undefined));
  await node.kill(); // SIGKILL: no unsubscribe
  const t0 = Date.now();
  // the first request finds the node dead (its connect is refused: 502, the HTTP router's
  // rule for "every connect failed"); the node and its pool are removed
  const first = await get('dead.test');
  assert.ok(
    [502, 503].includes(first.status),
    `the first request after the crash: ${first.status} ${first.text}`,
  );
  assert.match(router.logs(), /dead\.test => marking 127\.0\.0\.1:\d+ as failed/);
  // the next ones: a known key without a live node, while the tolerance (3 s) runs
  while (Date.now() - t0 < 2000) {
    assert.equal((await get('dead.test')).status, 503, `${Date.now() - t0} ms after the crash`);
    await sleep(250);
  }
  // then forgotten: no such host
  await pollUntil(
    '404 after the tolerance',
    async () => ((await get('dead.test')).status === 404 ? true : undefined),
    {
      timeoutMs: 6000,
    },
  );
  assert.ok(Date.now() - t0 >= 3000, `404 only after the tolerance (${Date.now() - t0} ms)`);
  await router.stop();
});
