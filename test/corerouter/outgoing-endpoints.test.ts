import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { OutgoingEndpoints } from '../../src/corerouter/outgoing-endpoints.ts';

/**
 * A listener on `host` (port 0) standing for one of ours, and an empty OutgoingEndpoints:
 * `body` connects to it; every accepted socket and the listener are closed after.
 */
async function withOwnListener(
  host: string,
  body: (port: number, accepted: Socket[], own: OutgoingEndpoints) => Promise<void>,
): Promise<void> {
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    await body(port, accepted, new OutgoingEndpoints());
  } finally {
    for (const s of accepted) s.destroy();
    server.close();
  }
}

test('a connection to our own listener is recognised from the accepting side; others are not', async () => {
  await withOwnListener('127.0.0.1', async (port, accepted, own) => {
    const out = connect(port, '127.0.0.1');
    await once(out, 'connect');
    own.add(out, port);
    const stranger = connect(port, '127.0.0.1');
    await once(stranger, 'connect');
    while (accepted.length < 2) await new Promise((r) => setTimeout(r, 5));
    const [a, b] = accepted;
    const ofOut = a.remotePort === out.localPort ? a : b;
    const ofStranger = ofOut === a ? b : a;
    assert.equal(own.size, 1);
    assert.equal(own.isOwn(ofOut), true);
    assert.equal(own.isOwn(ofStranger), false);
    // the outgoing socket itself is not an accepted client of ours
    assert.equal(own.isOwn(out), false);
    out.destroy();
    await once(out, 'close');
    assert.equal(own.size, 0);
    assert.equal(own.isOwn(ofOut), false);
    stranger.destroy();
  });
});

test('a dual-stack listener (::ffff:127.0.0.1) matches an IPv4 connection', async () => {
  await withOwnListener('::', async (port, accepted, own) => {
    const out = connect(port, '127.0.0.1');
    await once(out, 'connect');
    own.add(out, port);
    while (accepted.length < 1) await new Promise((r) => setTimeout(r, 5));
    assert.match(accepted[0].remoteAddress ?? '', /^::ffff:127\.0\.0\.1$/);
    assert.equal(own.isOwn(accepted[0]), true);
    out.destroy();
  });
});

test('a node connection to a port the router does not listen on is not tracked (no syscalls spent)', async () => {
  await withOwnListener('127.0.0.1', async (port, accepted) => {
    const own = new OutgoingEndpoints((p) => p !== port);
    const out = connect(port, '127.0.0.1');
    await once(out, 'connect');
    own.add(out, port);
    while (accepted.length < 1) await new Promise((r) => setTimeout(r, 5));
    assert.equal(own.size, 0);
    assert.equal(own.isOwn(accepted[0]), false);
    out.destroy();
  });
});
