/**
 * Two listeners configured with the same text: `127.0.0.1:0` twice is two sockets on two
 * ports, in uWSGI (measured with uWSGI 2.0.21: `--fastrouter 127.0.0.1:0 --fastrouter
 * 127.0.0.1:0` prints "bound on 127.0.0.1:0 fd 3" and "fd 4", two ports listen) and in the
 * primary (src/cluster/bound-sockets.ts). The worker must adopt each socket for its own
 * listener: finding them by the configured text adopted the first one twice and left the
 * second port refusing every client. Also in cheap mode on a shared port (the listeners start
 * closed and are opened again on the first node). A repeated fixed address stays refused at
 * start-up (uWSGI: "bind(): Address already in use").
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { after, test } from 'node:test';
import { encodeSubscription } from '../../src/protocol/subscription.ts';
import {
  freePort,
  pollUntil,
  rawRequest,
  type ServerHandle,
  startUwrouter,
  uwsgiGet,
} from './harness/index.ts';

/** A node that answers every connection with `NAME port LOCALPORT` (raw bytes, any protocol). */
async function node(name: string): Promise<{ address: string; server: Server }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end(`HTTP/1.0 200 OK\r\n\r\n${name}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => server.close());
  const a = server.address();
  assert.ok(a && typeof a === 'object');
  return { address: `127.0.0.1:${a.port}`, server };
}

/** The ports the primary logged for `router` ("uWSGI fastrouter bound on 127.0.0.1:PORT fd N"). */
function boundPorts(router: ServerHandle, display: string): number[] {
  const re = new RegExp(`${display} bound on 127\\.0\\.0\\.1:(\\d+) fd`, 'g');
  return [...router.logs().matchAll(re)].map((m) => Number(m[1]));
}

const request = uwsgiGet('twice.example.com');

/** What the router answers on `port`, or the connect error's code. */
async function answer(port: number, bytes: Buffer | string): Promise<string> {
  try {
    return (await rawRequest(port, bytes, { timeoutMs: 5000 })).toString();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

test('--rawrouter 127.0.0.1:0 twice: two ports, each served by the worker', { timeout: 60_000 }, async () => {
  const n = await node('raw-node');
  const router = await startUwrouter(
    ['--rawrouter', '127.0.0.1:0', '--rawrouter', '127.0.0.1:0', '--rawrouter-to', n.address],
    { readyPattern: /generation 1 serving/ },
  );
  after(() => router.stop());
  const ports = boundPorts(router, 'uWSGI rawrouter');
  assert.equal(ports.length, 2, router.logs());
  assert.notEqual(ports[0], ports[1]);
  for (const port of ports) {
    assert.match(await answer(port, 'hello'), /raw-node$/, `port ${port}\n${router.logs()}`);
  }
});

test('--fastrouter-cheap with --reuse-port, 127.0.0.1:0 twice: both ports served once a node subscribes', {
  timeout: 60_000,
}, async () => {
  const n = await node('cheap-node');
  const sub = await freePort();
  const router = await startUwrouter(
    [
      '--fastrouter',
      '127.0.0.1:0',
      '--fastrouter',
      '127.0.0.1:0',
      '--fastrouter-subscription-server',
      `127.0.0.1:${sub}`,
      '--fastrouter-cheap',
      '--reuse-port',
    ],
    { readyPattern: /generation 1 serving/ },
  );
  after(() => router.stop());
  await pollUntil('the worker started cheap', async () => /in cheap mode/.test(router.logs()) || undefined);
  const ports = boundPorts(router, 'uWSGI fastrouter');
  assert.equal(ports.length, 2, router.logs());
  assert.notEqual(ports[0], ports[1]);
  const r = encodeSubscription('subscribe', { key: 'twice.example.com', address: n.address });
  assert.ok(r.ok);
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    s.send(r.packet, sub, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
  );
  s.close();
  await pollUntil('leaving cheap mode', async () => /leaving cheap mode/.test(router.logs()) || undefined);
  for (const port of ports) {
    const got = await pollUntil(
      `port ${port} answered by the node`,
      async () => {
        const a = await answer(port, request);
        return /cheap-node$/.test(a) ? a : undefined;
      },
      { timeoutMs: 10_000 },
    ).catch((e: Error) => e.message);
    assert.match(got, /cheap-node$/, `port ${port}\n${router.logs()}`);
  }
});

test('a fixed address configured twice is refused at start-up, naming it', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const router = await startUwrouter(
    ['--rawrouter', `127.0.0.1:${port}`, '--rawrouter', `127.0.0.1:${port}`, '--rawrouter-to', '127.0.0.1:1'],
    { readyPattern: /configured twice|serving/ },
  );
  after(() => router.stop());
  assert.match(router.logs(), new RegExp(`cannot listen on "127\\.0\\.0\\.1:${port}": configured twice`));
});
