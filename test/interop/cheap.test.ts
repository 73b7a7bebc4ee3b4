/**
 * `--fastrouter-cheap` with a subscription server and a real uWSGI node (spec: corerouter.md
 * §7): while no node is subscribed a client waits (neither answered nor closed); the first
 * subscription serves it and leaves cheap mode; the last unsubscribe goes cheap again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  parseRawHttpResponse,
  rawRequest,
  startUwrouter,
  startUwsgiNode,
  uwsgiPacket,
} from './harness/index.ts';

const request = uwsgiPacket({
  REQUEST_METHOD: 'GET',
  PATH_INFO: '/',
  QUERY_STRING: '',
  SERVER_PROTOCOL: 'HTTP/1.1',
  SERVER_NAME: 'localhost',
  SERVER_PORT: '80',
  HTTP_HOST: 'cheap.example.com',
});

async function cheapFlag(statsPort: number): Promise<number> {
  const doc = JSON.parse((await rawRequest(statsPort, '', { timeoutMs: 5000 })).toString()) as {
    cheap: number;
  };
  return doc.cheap;
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
  return Date.now() - t0;
}

/** A request that records when (and with what) it settled. */
function pendingRequest(port: number) {
  const state: { done: boolean; at: number; bytes: Buffer | null } = { done: false, at: 0, bytes: null };
  const promise = rawRequest(port, request, { timeoutMs: 20000 }).then((b) => {
    Object.assign(state, { done: true, at: Date.now(), bytes: b });
    return b;
  });
  return { state, promise };
}

test('--fastrouter-cheap: clients wait while no node is subscribed, served on the first subscription', {
  timeout: 60000,
}, async () => {
  const [port, subPort, statsPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const router = await startUwrouter(
    [
      '--fastrouter',
      `127.0.0.1:${port}`,
      '--fastrouter-subscription-server',
      `127.0.0.1:${subPort}`,
      '--fastrouter-stats',
      `127.0.0.1:${statsPort}`,
      '--fastrouter-cheap',
    ],
    { readyPattern: /starting uWSGI fastrouter in cheap mode/ },
  );
  await waitUntil('stats server', async () => (await cheapFlag(statsPort).catch(() => -1)) === 1);
  // the lines come from the router's worker process (uWSGI: its gateway process)
  const worker = /spawned uWSGI fastrouter 1 \(pid: (\d+)\)/.exec(router.logs())?.[1];
  assert.ok(worker, router.logs());

  // a client connects while cheap: nothing answers it, nothing closes it
  const first = pendingRequest(port);
  await sleep(1000);
  assert.equal(first.state.done, false, 'the pending client is neither answered nor closed');

  const subscribedAt = Date.now();
  const node = await startUwsgiNode({
    app: 'whoami.py',
    name: 'cheap-node',
    args: ['--subscribe-to', `127.0.0.1:${subPort}:cheap.example.com`],
  });
  const bytes = await first.promise;
  const res = parseRawHttpResponse(bytes);
  assert.ok(res, `${router.logs()}\na response, got ${JSON.stringify(bytes.toString().slice(0, 100))}`);
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'cheap-node');
  assert.ok(first.state.at - subscribedAt < 5000, 'served as soon as the node subscribed');
  assert.match(router.logs(), new RegExp(`\\[uWSGI fastrouter pid ${worker}\\] leaving cheap mode\\.\\.\\.`));
  assert.equal(await cheapFlag(statsPort), 0);
  const again = parseRawHttpResponse(await rawRequest(port, request, { timeoutMs: 5000 }));
  assert.equal(again?.body.toString(), 'cheap-node');

  // SIGINT: the node unsubscribes, the table is empty, the router goes cheap again
  await node.stop();
  await waitUntil('going cheap', () => /no more nodes available\. Going cheap\.\.\./.test(router.logs()));
  assert.match(
    router.logs(),
    new RegExp(`\\[uWSGI fastrouter pid ${worker}\\] no more nodes available\\. Going cheap\\.\\.\\.`),
  );
  assert.equal(await cheapFlag(statsPort), 1);
  const second = pendingRequest(port);
  await sleep(500);
  assert.equal(second.state.done, false, 'cheap again: a new client waits');

  // a node coming back serves it
  const back = await startUwsgiNode({
    app: 'whoami.py',
    name: 'cheap-node-2',
    args: ['--subscribe-to', `127.0.0.1:${subPort}:cheap.example.com`],
  });
  const res2 = parseRawHttpResponse(await second.promise);
  assert.equal(res2?.body.toString(), 'cheap-node-2');
  assert.equal((router.logs().match(/leaving cheap mode/g) ?? []).length, 2);
  assert.ok(router.isRunning() && back.isRunning());
});
