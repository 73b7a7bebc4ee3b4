/**
 * `--fastrouter-cheap` with a subscription server and a real uWSGI node (spec: corerouter.md
 * §7): while no node is subscribed the worker does not accept (it holds no copy of the
 * listening socket; the primary keeps it bound and listening) and a client waits in the
 * kernel backlog, neither answered nor closed; the first subscription serves it and leaves
 * cheap mode; the last unsubscribe goes cheap again without cutting a request in flight.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeSubscription } from '../../src/protocol/subscription.ts';
import {
  freePort,
  parseRawHttpResponse,
  rawRequest,
  startUwrouter,
  startUwsgiNode,
  uwsgiGet,
  uwsgiPacket,
} from './harness/index.ts';

const request = uwsgiGet('cheap.example.com');

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

/** The inode of the TCP socket listening on 127.0.0.1:`port` (/proc/net/tcp, state 0A). */
function listeningInode(port: number): string {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') return f[9];
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

/** Does process `pid` hold an fd of socket `inode`? (a worker that accepts holds one) */
function holdsSocket(pid: number, inode: string): boolean {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return true;
    } catch {
      // closed while we looked
    }
  }
  return false;
}

/** Sends one (un)subscription datagram as a 2.0 node would. */
async function sendSubscription(
  subPort: number,
  cmd: 'subscribe' | 'unsubscribe',
  address: string,
  key = 'cheap.example.com',
) {
  const r = encodeSubscription(cmd, { key, address });
  assert.ok(r.ok);
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    s.send(r.packet, subPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
  );
  s.close();
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
  const inode = listeningInode(port);
  assert.equal(holdsSocket(router.pid, inode), true, 'the primary holds the socket');
  assert.equal(holdsSocket(Number(worker), inode), false, 'a cheap worker does not accept');

  // a client connects while cheap: nothing answers it, nothing closes it
  const first = pendingRequest(port);
  await sleep(1000);
  assert.equal(first.state.done, false, 'the pending client is neither answered nor closed');
  assert.equal(holdsSocket(Number(worker), inode), false, 'still not accepting');

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
  assert.equal(holdsSocket(Number(worker), inode), true, 'the worker accepts again');
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
  await waitUntil('the worker letting go', () => !holdsSocket(Number(worker), inode));
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

test('--fastrouter-cheap: going cheap does not cut a request in flight (uWSGI #2302, #438)', {
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
  // a node the test subscribes and unsubscribes itself: it stays up meanwhile
  const node = await startUwsgiNode({ app: 'slow.py', name: 'slow-node' });
  await waitUntil('stats server', async () => (await cheapFlag(statsPort).catch(() => -1)) === 1);
  await sendSubscription(subPort, 'subscribe', node.address);
  await waitUntil('leaving cheap mode', async () => (await cheapFlag(statsPort)) === 0);

  const slow = uwsgiPacket({
    REQUEST_METHOD: 'GET',
    PATH_INFO: '/',
    QUERY_STRING: 's=2',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_NAME: 'localhost',
    SERVER_PORT: '80',
    HTTP_HOST: 'cheap.example.com',
  });
  const inFlight = rawRequest(port, slow, { timeoutMs: 20000 });
  await sleep(500);
  await sendSubscription(subPort, 'unsubscribe', node.address);
  await waitUntil('going cheap', () => /no more nodes available\. Going cheap\.\.\./.test(router.logs()));
  assert.equal(await cheapFlag(statsPort), 1);
  const res = parseRawHttpResponse(await inFlight);
  assert.equal(res?.status, 200, router.logs());
  assert.equal(res.body.toString(), 'slept 2');
  assert.ok(router.isRunning() && node.isRunning());
});

test('--rawrouter-cheap: what a client wrote while cheap reaches the node once one subscribes', {
  timeout: 60000,
}, async () => {
  const [port, subPort] = await Promise.all([freePort(), freePort()]);
  const router = await startUwrouter(
    [
      '--rawrouter',
      `127.0.0.1:${port}`,
      '--rawrouter-subscription-server',
      `127.0.0.1:${subPort}`,
      '--rawrouter-cheap',
    ],
    { readyPattern: /starting uWSGI rawrouter in cheap mode/ },
  );
  const node = await startUwsgiNode({ app: 'whoami.py', name: 'raw-node', protocol: 'http' });
  // the request is written at once: its bytes wait in the kernel with the connection
  const pending = rawRequest(port, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n', { timeoutMs: 20000 });
  await sleep(500);
  // the rawrouter's key is its listening address (spec: corerouter.md §3)
  await sendSubscription(subPort, 'subscribe', node.address, `127.0.0.1:${port}`);
  const res = parseRawHttpResponse(await pending);
  assert.equal(res?.status, 200, router.logs());
  assert.equal(res.body.toString(), 'raw-node');
  assert.match(router.logs(), /\[uWSGI rawrouter pid \d+\] leaving cheap mode\.\.\./);
});
