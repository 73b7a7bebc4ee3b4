/**
 * The rawrouter in-process against raw TCP peers (spec: corerouter.md §3–§5, §7, §8, §10):
 * relay, connect at accept, the key, subscriptions, cheap mode, retries, timeouts, start-up
 * errors. PROXY protocol and XCLIENT: proxy-xclient.test.ts; real peers:
 * test/interop/rawrouter.test.ts.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { encodeSubscription } from '../../src/protocol/subscription.ts';
import { startRouters } from '../../src/start.ts';
import { deadPort } from '../corerouter/fake-node.ts';
import { node, startRaw, talk, waitFor } from './raw-peers.ts';

test('relays bytes both ways, and a server-speaks-first node greets before the client says anything', async () => {
  const n = await node({ greeting: '220 node ready\r\n' });
  const r = await startRaw(['--rawrouter-to', n.address]);
  const c = await talk(r.port);
  // spec §10: the node is connected at accept, so its greeting arrives unprompted
  await c.until(/^220 node ready\r\n$/);
  c.socket.write('EHLO x\r\n');
  await c.until(/echo:EHLO x\r\n$/);
  assert.equal(n.conns[0].received.toString(), 'EHLO x\r\n');
  c.socket.destroy();
  await waitFor(() => r.router.activeSessions === 0);
});

test('a client half-close is passed on to the node; its answer still comes back', async () => {
  const n = await node({ echo: false, onEnd: (conn) => conn.socket.end('late answer') });
  const r = await startRaw(['--rawrouter-to', n.address]);
  const c = await talk(r.port);
  c.socket.end('request');
  await c.closed;
  assert.equal(c.received(), 'late answer');
  assert.equal(n.conns[0].received.toString(), 'request');
});

test('the key is the listening address: a node subscribed under it gets the traffic', async () => {
  const n = await node();
  const udp = await deadPort();
  const r = await startRaw(['--rawrouter-subscription-server', `127.0.0.1:${udp}`]);
  // a port-0 listener's key is its bound address (uWSGI would keep "127.0.0.1:0")
  const key = `127.0.0.1:${r.port}`;
  const p = encodeSubscription('subscribe', { key, address: n.address });
  assert.ok(p.ok);
  const s = createSocket('udp4');
  s.send(p.packet, udp, '127.0.0.1');
  await waitFor(() => r.lines.some((l) => l.includes(`${key} => new node: ${n.address}`)));
  s.close();
  const c = await talk(r.port);
  c.socket.write('hi');
  await c.until(/echo:hi/);
  c.socket.destroy();
});

test("an =N shared socket is keyed by its bound address, not uWSGI's truncated name", async () => {
  // a pattern that maps every key to no valid address: the log line names the key used
  const r = await startRaw(
    ['--shared-socket', '127.0.0.1:0', '--rawrouter-use-pattern', '/nonexistent/%s'],
    '=0',
  );
  const c = await talk(r.port);
  await c.closed;
  // uWSGI would use "12" here (the bound name cut to the length of "=0")
  assert.ok(
    r.lines.some(
      (l) => l.includes(`key: 127.0.0.1:${r.port} `) && l.includes(`for key "127.0.0.1:${r.port}"`),
    ),
    r.lines.join('\n'),
  );
});

test('a dead static node is skipped: every connection is served by the live one, stats say so', async () => {
  const live = await node();
  const dead = `127.0.0.1:${await deadPort()}`;
  const statsPort = await deadPort();
  const r = await startRaw([
    '--rawrouter-to',
    dead,
    '--rawrouter-to',
    live.address,
    '--rawrouter-stats',
    `127.0.0.1:${statsPort}`,
  ]);
  for (let i = 0; i < 4; i++) {
    const c = await talk(r.port);
    c.socket.write(`n${i}`);
    await c.until(new RegExp(`echo:n${i}`));
    c.socket.destroy();
  }
  assert.equal(live.conns.length, 4);
  assert.ok(
    r.lines.some(
      (l) => l === `[uwsgi-rawrouter] unable to connect() to node "${dead}" (0 retries): Connection refused`,
    ),
  );
  assert.ok(r.lines.some((l) => l === `[uwsgi-rawrouter] 127.0.0.1:${r.port} => marking ${dead} as failed`));
  const doc = JSON.parse(r.router.renderStats()) as {
    rawrouter: string[];
    static_nodes: Array<{ name: string; hits: number; grace: number }>;
  };
  assert.deepEqual(doc.rawrouter, [`127.0.0.1:${r.port}`]);
  const byName = new Map(doc.static_nodes.map((s) => [s.name, s]));
  assert.equal(byName.get(live.address)?.hits, 4);
  assert.ok((byName.get(dead)?.grace ?? 0) > 0);
});

test('no node for the key: the connection is closed with one log line (uWSGI 2.0.21 segfaults here)', async () => {
  const dead = `127.0.0.1:${await deadPort()}`;
  const r = await startRaw(['--rawrouter-to', dead, '--rawrouter-max-retries', '0']);
  const first = await talk(r.port);
  await first.closed;
  // the only node is now in its gracetime: the mapper has nothing for the key
  const second = await talk(r.port);
  await second.closed;
  assert.ok(
    r.lines.some((l) => l.includes(`no node for key "127.0.0.1:${r.port}": closing`)),
    r.lines.join('\n'),
  );
  assert.equal(r.router.counters.get('UWR_ERR_NO_NODE'), 1);
  // and the router still serves
  const n = await node();
  assert.equal(n.conns.length, 0);
});

test('an idle session is closed after rawrouter-timeout', async () => {
  const n = await node();
  const r = await startRaw(['--rawrouter-to', n.address, '--rawrouter-timeout', '1']);
  const c = await talk(r.port);
  const t0 = Date.now();
  await c.closed;
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 4000, `closed after ${took} ms`);
  assert.equal(r.router.counters.get('UWR_ERR_TIMEOUT'), 1);
});

test('start-up errors: PROXY headers accepted without a trusted list, a list without the switch, a bad range', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--rawrouter-enable-proxy-protocol'], /--rawrouter-trusted-proxy/],
    [['--rawrouter-trusted-proxy', '10.0.0.0/8'], /has no effect without --rawrouter-enable-proxy-protocol/],
    [
      ['--rawrouter-enable-proxy-protocol', '--rawrouter-trusted-proxy', '10.0.0.0/33'],
      /"10.0.0.0\/33" is not an IP/,
    ],
    [['--rawrouter-proxy-protocol', '3'], /rawrouter-proxy-protocol/],
  ];
  for (const [args, message] of cases) {
    await assert.rejects(
      async () => {
        const { config } = loadConfig(
          ['--rawrouter', '127.0.0.1:0', '--rawrouter-to', '127.0.0.1:1', ...args],
          {},
        );
        const running = await startRouters(config, silentLogger(), 'test');
        await running.close();
      },
      (err: Error) => err instanceof ConfigError && message.test(err.message),
      args.join(' '),
    );
  }
});

test('a node address naming its own listener: the loop is cut within a few hops, one line says why', async () => {
  const port = await deadPort();
  const r = await startRaw(['--rawrouter-to', `127.0.0.1:${port}`], `127.0.0.1:${port}`);
  const c = await talk(r.port);
  await c.closed;
  await waitFor(() => r.router.activeSessions === 0);
  // each hop is one more accepted connection; without the check they pile up until fds run out
  assert.ok(r.router.accepted <= 4, `${r.router.accepted} connections accepted`);
  assert.ok(
    r.lines.some((l) => l.includes('the rawrouter connected to itself (a node address is its own listener)')),
    r.lines.join('\n'),
  );
});
