import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { decodePacket } from '../../src/protocol/uwsgi.ts';
import { RequestLog } from '../../src/request-log.ts';
import { deadPort, rawExchange } from '../corerouter/fake-node.ts';
import { startStalledListener } from '../corerouter/stalled-listener.ts';
import { shapeDifferences } from '../corerouter/stats-shape.ts';
import { captureLogger, type LogRecord } from '../log-capture.ts';
import { cleanup, GET, node, openConnections, request, startRouter, waitFor } from './harness.ts';

test('forwards the packet unchanged but for the node modifiers, and relays the answer', async () => {
  const a = await node({ name: 'a' });
  const r = await startRouter(['--fastrouter-to', a.address]);
  const req = request([...GET, ['X', 'y']], '', 5, 7);
  const out = await rawExchange(r.port, req);
  assert.match(out, /ok-a$/);
  assert.equal(a.requests.length, 1);
  const got = a.requests[0];
  // spec: modifier1/2 are replaced by the static node's (0/0); the rest is byte-identical
  assert.equal(got[0], 0);
  assert.equal(got[3], 0);
  assert.deepEqual(got.subarray(1, 3), req.subarray(1, 3));
  assert.deepEqual(got.subarray(4), req.subarray(4));
  await waitFor(() => r.router.activeSessions === 0);
});

test('round robin over two nodes; a dead node leaves every request answered by the other', async () => {
  const a = await node({ name: 'a' });
  const b = await node({ name: 'b' });
  const dead = `127.0.0.1:${await deadPort()}`;
  const r = await startRouter([
    '--fastrouter-to',
    a.address,
    '--fastrouter-to',
    dead,
    '--fastrouter-to',
    b.address,
  ]);
  const answers: string[] = [];
  for (let i = 0; i < 8; i++) answers.push((await rawExchange(r.port, request(GET))).slice(-4));
  assert.ok(
    answers.every((x) => x === 'ok-a' || x === 'ok-b'),
    answers.join(),
  );
  assert.ok(answers.includes('ok-a') && answers.includes('ok-b'));
  assert.ok(r.lines.some((l) => l.includes(`unable to connect() to node "${dead}"`)));
  assert.ok(r.lines.some((l) => l === `[uwsgi-fastrouter] example.com => marking ${dead} as failed`));
  await waitFor(() => r.router.activeSessions === 0);
});

test('streams a multi-MB body byte-exact both ways (echo node)', async () => {
  const e = await node({ behaviour: 'echo' });
  const r = await startRouter(['--fastrouter-to', e.address]);
  const body = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 8)) & 0xff;
  const head = request([...GET, ['CONTENT_LENGTH', String(body.length)]]);
  const s = connect(r.port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c) => chunks.push(c));
  await once(s, 'connect');
  s.write(head);
  s.write(body);
  await once(s, 'close');
  const all = Buffer.concat(chunks);
  const sep = all.indexOf('\r\n\r\n');
  assert.deepEqual(all.subarray(sep + 4), body);
  assert.equal(e.requests[0].length, head.length + body.length);
});

test('unknown key: closed without reply, one log line, counted', async () => {
  const r = await startRouter([
    '--fastrouter-use-pattern',
    '/nonexistent/%s.sock',
    '--fastrouter-max-retries',
    '0',
  ]);
  const out = await rawExchange(r.port, request(GET));
  assert.equal(out, '');
  assert.ok(r.lines.some((l) => l.includes('key: example.com') && l.includes('closing')));
  assert.equal(r.router.counters.get('UWR_ERR_CONNECT'), 1);
});

test('a node whose connect hangs: connect-timeout, next node, or a counted UWR_ERR_CONNECT_TIMEOUT', async () => {
  const stalled = await startStalledListener();
  cleanup.push(() => stalled.close());
  const live = await node({ name: 'live' });
  const [retried, alone] = await Promise.all([
    startRouter([
      '--fastrouter-to',
      stalled.address,
      '--fastrouter-to',
      live.address,
      '--fastrouter-connect-timeout',
      '1',
    ]),
    startRouter([
      '--fastrouter-to',
      stalled.address,
      '--fastrouter-connect-timeout',
      '1',
      '--fastrouter-max-retries',
      '0',
    ]),
  ]);
  const [answered, closed] = await Promise.all([
    rawExchange(retried.port, request(GET)),
    rawExchange(alone.port, request(GET)),
  ]);
  const timedOut = `[uwsgi-fastrouter] unable to connect() to node "${stalled.address}" (0 retries): timeout`;
  // with a retry left, the live node answers
  assert.match(answered, /ok-live$/);
  assert.ok(retried.lines.includes(timedOut), retried.lines.join('\n'));
  assert.equal(retried.router.counters.get('node_connect_failures'), 1);
  assert.equal(retried.router.counters.get('UWR_ERR_CONNECT_TIMEOUT'), undefined);
  // without one, the client is closed and the outcome is counted under its own code
  assert.equal(closed, '');
  assert.ok(alone.lines.includes(timedOut), alone.lines.join('\n'));
  assert.ok(alone.lines.some((l) => l.includes('key: example.com') && l.endsWith(': timeout: closing')));
  const doc = JSON.parse(alone.router.renderStats()) as { uwrouter: { counters: Record<string, number> } };
  assert.deepEqual(doc.uwrouter.counters, { node_connect_failures: 1, UWR_ERR_CONNECT_TIMEOUT: 1 });
});

test('log lines: JSON fields, info for client mistakes, warn for node failures and node timeouts', async () => {
  const dead = `127.0.0.1:${await deadPort()}`;
  const silent = await node({ behaviour: 'silent' });
  const r = await startRouter([
    '--fastrouter-to',
    dead,
    '--fastrouter-to',
    silent.address,
    '--fastrouter-max-retries',
    '0',
    '--fastrouter-timeout',
    '1',
  ]);
  const at = (text: string): LogRecord => {
    const found = r.records.filter((x) => x.msg.includes(text));
    assert.equal(found.length, 1, `one "${text}" in ${JSON.stringify(r.lines)}`);
    return found[0];
  };
  // round robin: the dead node first (connect failure), then the silent one (timeout)
  await rawExchange(r.port, request(GET));
  const conn = at('unable to connect()');
  assert.deepEqual(
    [conn.level, conn.code, conn.key, conn.node, conn.client_addr],
    [40, 'UWR_ERR_CONNECT', 'example.com', dead, '127.0.0.1'],
  );
  assert.equal(typeof conn.client_port, 'number');
  assert.equal(at('cannot connect').level, 40);
  await rawExchange(r.port, request(GET));
  const idle = at('] timeout: closing');
  assert.deepEqual([idle.level, idle.code, idle.node], [40, 'UWR_ERR_TIMEOUT', silent.address]);
  await rawExchange(r.port, request([['REQUEST_METHOD', 'GET']]));
  const nokey = at('no routing key');
  assert.deepEqual([nokey.level, nokey.code], [30, 'UWR_ERR_NO_KEY']);
  await rawExchange(r.port, Buffer.from([0, 0x60, 0xea, 0, 1]));
  const head = at('timeout reading the request');
  assert.deepEqual([head.level, head.code, head.key], [30, 'UWR_ERR_TIMEOUT', undefined]);
  await waitFor(() => r.router.activeSessions === 0);
});

test('no key at all: closed with a log line', async () => {
  const a = await node();
  const r = await startRouter(['--fastrouter-to', a.address]);
  const out = await rawExchange(r.port, request([['REQUEST_METHOD', 'GET']]));
  assert.equal(out, '');
  assert.ok(r.lines.some((l) => l.includes('no routing key')));
  assert.equal(a.requests.length, 0);
});

test('key precedence: UWSGI_FASTROUTER_KEY > HTTP_HOST > SERVER_NAME, used with use-pattern', async () => {
  const n = await node({ path: `/tmp/uwr-fr-test-${process.pid}-k.sock`, name: 'k' });
  const r = await startRouter(['--fastrouter-use-pattern', `/tmp/uwr-fr-test-${process.pid}-%s.sock`]);
  const out = await rawExchange(
    r.port,
    request([
      ['SERVER_NAME', 'x'],
      ['UWSGI_FASTROUTER_KEY', 'k'],
      ['HTTP_HOST', 'y'],
    ]),
  );
  assert.match(out, /ok-k$/);
  assert.equal(n.requests.length, 1);
});

test('a vars block over buffer-size (a big cookie) is forwarded: buffer-size is no request limit', async () => {
  // spec: uwsgi-protocol.md §5 — uWSGI's fastrouter grows its buffer to the whole vars block
  const a = await node();
  const r = await startRouter(['--fastrouter-to', a.address]);
  const out = await rawExchange(r.port, request([...GET, ['HTTP_COOKIE', 'c'.repeat(10000)]]));
  assert.match(out, /ok-node$/);
  assert.equal(r.router.counters.get('UWR_ERR_PACKET_TOO_LARGE'), undefined);
});

test('a head announcing 60000 bytes then silence is closed by the timeout', async () => {
  const a = await node();
  const r = await startRouter(['--fastrouter-to', a.address, '--fastrouter-timeout', '1']);
  const out = await rawExchange(r.port, Buffer.from([0, 0x60, 0xea, 0, 1, 2, 3]));
  assert.equal(out, '');
  assert.ok(r.lines.some((l) => l.includes('timeout reading the request')));
  // and the router still serves
  assert.match(await rawExchange(r.port, request(GET)), /ok-node$/);
});

test('random bytes: closed, logged, router keeps serving', async () => {
  const a = await node();
  const r = await startRouter(['--fastrouter-to', a.address, '--fastrouter-timeout', '1']);
  for (let i = 0; i < 20; i++) {
    const junk = Buffer.alloc(8 + i * 13);
    for (let j = 0; j < junk.length; j++) junk[j] = (j * 97 + i * 13) & 0xff;
    junk[1] = 20;
    junk[2] = 0; // a 20-byte vars block of junk
    await rawExchange(r.port, junk);
  }
  assert.match(await rawExchange(r.port, request(GET)), /ok-node$/);
  await waitFor(() => r.router.activeSessions === 0);
});

test('client disconnecting mid-body: node connection torn down, next request fine', async () => {
  const silent = await node({ behaviour: 'silent' });
  const r = await startRouter(['--fastrouter-to', silent.address]);
  const s: Socket = connect(r.port, '127.0.0.1');
  await once(s, 'connect');
  s.write(request([...GET, ['CONTENT_LENGTH', '100000']], 'x'.repeat(1000)));
  // the router has joined the client to the node: one connection open on the node's side
  await waitFor(async () => (await openConnections(silent)) === 1);
  // a reset, not a FIN: a FIN is passed on to the node (which may still answer) and the node
  // would close by itself; after a reset only the router can end the node's connection
  s.resetAndDestroy();
  await waitFor(async () => (await openConnections(silent)) === 0 && r.router.activeSessions === 0);
  // the next request still reaches the node (which records it whole, and answers nothing)
  const s2 = connect(r.port, '127.0.0.1');
  await once(s2, 'connect');
  s2.write(request(GET));
  await waitFor(() => silent.requests.length === 1);
  s2.destroy();
  await waitFor(async () => (await openConnections(silent)) === 0 && r.router.activeSessions === 0);
});

test('node dying mid-response: client gets what was sent, then close; router fine', async () => {
  const dying = await node({ behaviour: 'die-mid-response' });
  const good = await node({ name: 'good' });
  const r1 = await startRouter(['--fastrouter-to', dying.address]);
  const out = await rawExchange(r1.port, request(GET));
  assert.match(out, /partial$/);
  await waitFor(() => r1.router.activeSessions === 0);
  const r2 = await startRouter(['--fastrouter-to', good.address]);
  assert.match(await rawExchange(r2.port, request(GET)), /ok-good$/);
});

test('the nginx capture goes through and arrives byte-identical', async () => {
  const bin = readFileSync(new URL('../fixtures/request/nginx-uwsgi_pass-post.bin', import.meta.url));
  const a = await node();
  const r = await startRouter(['--fastrouter-to', a.address]);
  await rawExchange(r.port, bin);
  assert.deepEqual(a.requests[0], bin);
  assert.equal(decodePacket(a.requests[0]).vars.length, decodePacket(bin).vars.length);
});

test('stats: uWSGI field names, static nodes, sessions back to zero', async () => {
  const a = await node();
  const r = await startRouter(['--fastrouter-to', a.address]);
  await rawExchange(r.port, request(GET));
  await waitFor(() => r.router.activeSessions === 0);
  const doc = JSON.parse(r.router.renderStats()) as Record<string, unknown>;
  const capture = JSON.parse(
    readFileSync(new URL('../fixtures/fastrouter-stats.json', import.meta.url), 'utf8'),
  );
  assert.deepEqual(
    shapeDifferences(capture, doc, {
      // no subscription server here, so no `subscriptions` (uWSGI neither, spec: corerouter.md
      // §8); `static_nodes` is uWSGI's section for --fastrouter-to, absent from the capture
      absent: ['subscriptions'],
      extra: ['static_nodes', 'uwrouter'],
    }),
    [],
  );
  assert.deepEqual(doc.static_nodes, [{ name: a.address, hits: 1, grace: 0 }]);
  assert.equal(doc.active_sessions, 0);
  assert.ok(r.router.renderStats().includes('\n\t"active_sessions":0,\n'));
});

test('request log: one line per session, the request from its vars, the status from the answer', async () => {
  const a = await node();
  const out: string[] = [];
  const requestLog = new RequestLog({
    format: 'uwsgi',
    stream: {
      write: (l: string) => {
        out.push(l);
        return true;
      },
    },
    log: captureLogger().log,
  });
  const r = await startRouter(['--fastrouter-to', a.address], requestLog);
  const vars: [string, string][] = [
    ['REQUEST_METHOD', 'POST'],
    ['REQUEST_URI', '/up?x=1'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['HTTP_HOST', 'example.com'],
    ['CONTENT_LENGTH', '5'],
  ];
  const packet = request(vars, 'hello');
  const answer = await rawExchange(r.port, packet);
  await rawExchange(r.port, request([['REQUEST_METHOD', 'GET']]));
  await waitFor(() => r.router.activeSessions === 0 && out.length === 2);
  const datasize = packet.length - 5 - 4;
  assert.match(
    out[0],
    new RegExp(
      `^\\[pid: ${process.pid}\\|app: -\\|req: -/1\\] 127\\.0\\.0\\.1 \\(\\) \\{5 vars in ${datasize} bytes\\} \\[[^\\]]+\\] POST /up\\?x=1 => generated ${answer.length} bytes in \\d+ msecs \\(HTTP/1\\.1 200\\) key: example\\.com node: ${a.address.replace(/\./g, '\\.')} router: fastrouter client_port: \\d+ connect: [\\d.]+ msecs ttfb: [\\d.]+ msecs body: 5 bytes\n$`,
    ),
  );
  assert.match(
    out[1],
    / GET - => generated 0 bytes in \d+ msecs \(- 0\) key: - node: - router: fastrouter .* error: UWR_ERR_NO_KEY\n$/,
  );
});

test('listensOn: the ports of its own listeners (the only node ports the self-connection check tracks)', async () => {
  const r = await startRouter(['--fastrouter', '127.0.0.1:0', '--fastrouter-to', '127.0.0.1:1']);
  const ports = r.router.listeners.map((l) => Number(l.name.slice(l.name.lastIndexOf(':') + 1)));
  assert.equal(ports.length, 2);
  for (const p of ports) assert.equal(r.router.listensOn(p), true);
  const other = Math.max(...ports) + 1;
  assert.equal(r.router.listensOn(other), ports.includes(other));
  assert.equal(r.router.listensOn(1), false);
});
