import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { noSessionsLeft, onCleanup, startRouter, uwsgiNode, waitFor } from './fakes.ts';

/** What `ws` needs of a request to upgrade a raw socket. */
function upgradeRequest(vars: Map<string, string>): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of vars) {
    if (k.startsWith('HTTP_')) headers[k.slice(5).toLowerCase().replaceAll('_', '-')] = v;
  }
  return {
    method: vars.get('REQUEST_METHOD'),
    headers,
    url: vars.get('REQUEST_URI'),
  } as unknown as IncomingMessage;
}

async function roundTrip(url: string, messages: string[]): Promise<string[]> {
  const ws = new WebSocket(url);
  onCleanup(() => ws.terminate());
  await once(ws, 'open');
  const got: string[] = [];
  const all = new Promise<void>((resolve) => {
    ws.on('message', (m) => {
      got.push(m.toString());
      if (got.length === messages.length) resolve();
    });
  });
  for (const m of messages) ws.send(m);
  await all;
  ws.close();
  await once(ws, 'close');
  return got;
}

test('websocket through a uwsgi node that does the handshake itself (http-websockets)', async () => {
  const wss = new WebSocketServer({ noServer: true });
  onCleanup(() => wss.close());
  const n = await uwsgiNode(
    (req) => {
      wss.handleUpgrade(upgradeRequest(req.vars), req.socket, req.body, (ws) => {
        ws.on('message', (m, binary) => ws.send(binary ? m : `echo:${m.toString()}`));
      });
      // the fake paused the socket when it handed it over
      req.socket.resume();
    },
    { early: true },
  );
  const r = await startRouter(['--http-to', n.address, '--http-websockets']);
  const ws = new WebSocket(`ws://127.0.0.1:${r.port}/chat`);
  onCleanup(() => ws.terminate());
  await once(ws, 'open');
  const stats = () => r.router.statsDocument().http_router as Record<string, number>;
  assert.equal(stats().websockets, 1);
  ws.send('hi');
  const [m] = await once(ws, 'message');
  assert.equal(m.toString(), 'echo:hi');
  const big = Buffer.alloc(300_000, 7);
  ws.send(big);
  const [b] = await once(ws, 'message');
  assert.ok(Buffer.from(b as Buffer).equals(big));
  ws.close();
  await once(ws, 'close');
  await waitFor(() => stats().websockets === 0);
  assert.equal(n.requests[0].vars.get('HTTP_UPGRADE'), 'websocket');
  assert.equal(n.requests[0].vars.get('PATH_INFO'), '/chat');
  await noSessionsLeft(r);
});

test('websocket through an HTTP node (Node http + ws): upgrade forwarded, then joined', async () => {
  const server = createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server });
  let forwardedFor = '';
  wss.on('connection', (ws, req) => {
    forwardedFor = String(req.headers['x-forwarded-for']);
    ws.on('message', (m) => ws.send(`node:${m.toString()}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    wss.close();
    server.closeAllConnections();
    server.close();
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const r = await startRouter(['--http-to', `http://127.0.0.1:${port}`, '--http-websockets']);
  const got = await roundTrip(`ws://127.0.0.1:${r.port}/`, ['a', 'b', 'c']);
  assert.deepEqual(got, ['node:a', 'node:b', 'node:c']);
  assert.equal(forwardedFor, '127.0.0.1');
  await noSessionsLeft(r);
});

test('without http-websockets an upgrade is a plain request (no tunnel)', async () => {
  const n = await uwsgiNode((req) =>
    req.socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno'),
  );
  const r = await startRouter(['--http-to', n.address]);
  const ws = new WebSocket(`ws://127.0.0.1:${r.port}/`);
  const [err] = await once(ws, 'error');
  assert.match(String(err), /400/);
  await noSessionsLeft(r);
});
