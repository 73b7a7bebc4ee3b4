/**
 * The rawrouter in-process against raw TCP peers (spec: corerouter.md §3–§5, §8, §10):
 * relay, connect at accept, the key, retries, timeouts, XCLIENT, and the PROXY protocol
 * both ways. Interop with real uWSGI/HAProxy is test/interop/rawrouter.test.ts.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import type { CoreRouter } from '../../src/corerouter/router.ts';
import { ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { encodeProxyV1, encodeProxyV2 } from '../../src/protocol/proxy-protocol.ts';
import { decodeProxyHeader } from '../../src/protocol/proxy-protocol-reader.ts';
import { encodeSubscription } from '../../src/protocol/subscription.ts';
import { startRouters } from '../../src/start.ts';
import { deadPort } from '../corerouter/fake-node.ts';
import { type RawNode, type RawNodeOptions, startRawNode, talk, waitFor } from './raw-peers.ts';

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

interface Started {
  router: CoreRouter;
  port: number;
  lines: string[];
}

async function startRaw(args: string[], listen = '127.0.0.1:0'): Promise<Started> {
  const { config } = loadConfig(['--rawrouter', listen, ...args], {});
  const lines: string[] = [];
  const log = silentLogger();
  const keep = ((a: unknown, b?: string) => {
    lines.push(typeof a === 'string' ? a : (b ?? ''));
  }) as typeof log.info;
  log.info = keep;
  log.warn = keep;
  const running = await startRouters(config, log, 'test');
  cleanup.push(() => running.close());
  const router = running.routers[0];
  const a = router.listeners[0].server.address();
  return { router, port: typeof a === 'object' && a ? a.port : 0, lines };
}

async function node(o: RawNodeOptions = {}): Promise<RawNode> {
  const n = await startRawNode(o);
  cleanup.push(() => n.close());
  return n;
}

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

test('cheap mode: a client that wrote while parked has its bytes delivered once a node subscribes', async () => {
  const n = await node();
  const udp = await deadPort();
  const r = await startRaw(['--rawrouter-subscription-server', `127.0.0.1:${udp}`, '--rawrouter-cheap']);
  assert.equal(r.router.cheap, true);
  const c = await talk(r.port);
  c.socket.write('written-while-cheap');
  await sleep(50);
  const p = encodeSubscription('subscribe', { key: `127.0.0.1:${r.port}`, address: n.address });
  assert.ok(p.ok);
  const s = createSocket('udp4');
  s.send(p.packet, udp, '127.0.0.1');
  await c.until(/echo:written-while-cheap/);
  s.close();
  assert.equal(n.conns[0].received.toString(), 'written-while-cheap');
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

test('--rawrouter-proxy-protocol 1 and 2: the node first reads a header naming the client and the router address', async () => {
  for (const version of ['1', '2']) {
    const n = await node({ echo: false });
    const r = await startRaw(['--rawrouter-to', n.address, '--rawrouter-proxy-protocol', version]);
    const c = await talk(r.port);
    c.socket.write('payload');
    await waitFor(() => n.conns[0]?.received.includes('payload') ?? false);
    const got = decodeProxyHeader(n.conns[0].received);
    assert.equal(got.state, 'done');
    if (got.state !== 'done') return;
    assert.equal(got.header.version, Number(version));
    assert.deepEqual(
      [
        got.header.transport,
        got.header.srcAddress,
        got.header.srcPort,
        got.header.dstAddress,
        got.header.dstPort,
      ],
      ['TCP4', '127.0.0.1', c.socket.localPort, '127.0.0.1', r.port],
    );
    assert.equal(got.rest.toString(), 'payload');
    c.socket.destroy();
  }
});

test('PROXY headers from a trusted peer: its client becomes the client (logs, the node header); others are relayed untouched', async () => {
  const n = await node({ echo: false });
  const r = await startRaw([
    '--rawrouter-to',
    n.address,
    '--rawrouter-proxy-protocol',
    '1',
    '--rawrouter-enable-proxy-protocol',
    '--rawrouter-trusted-proxy',
    '127.0.0.2',
  ]);
  const v2 = encodeProxyV2({
    srcAddress: '203.0.113.7',
    srcPort: 4242,
    dstAddress: '198.51.100.1',
    dstPort: 25,
  });
  // split in two writes: the header's second half arrives with the data
  const trusted = await talk(r.port, { localAddress: '127.0.0.2' });
  trusted.socket.write(v2.subarray(0, 10));
  await sleep(20);
  trusted.socket.write(Buffer.concat([v2.subarray(10), Buffer.from('data-after-header')]));
  await waitFor(() => n.conns[0]?.received.includes('data-after-header') ?? false);
  assert.equal(
    n.conns[0].received.toString('latin1'),
    'PROXY TCP4 203.0.113.7 198.51.100.1 4242 25\r\ndata-after-header',
  );
  // an untrusted peer sending a header: bytes relayed as they are, after the router's own header
  const spoof = encodeProxyV1({ srcAddress: '6.6.6.6', srcPort: 1, dstAddress: '6.6.6.6', dstPort: 2 });
  const other = await talk(r.port);
  other.socket.write(spoof);
  await waitFor(() => n.conns[1]?.received.includes('6.6.6.6') ?? false);
  assert.equal(
    n.conns[1].received.toString('latin1'),
    `PROXY TCP4 127.0.0.1 127.0.0.1 ${other.socket.localPort} ${r.port}\r\n${spoof.toString('latin1')}`,
  );
  assert.equal(r.router.counters.get('proxy_header_v2'), 1);
  trusted.socket.destroy();
  other.socket.destroy();
});

test('log lines name the client a trusted peer relayed, and a v2 LOCAL header (health check) keeps the real one', async () => {
  const dead = `127.0.0.1:${await deadPort()}`;
  const r = await startRaw([
    '--rawrouter-to',
    dead,
    '--rawrouter-max-retries',
    '0',
    '--rawrouter-enable-proxy-protocol',
    '--rawrouter-trusted-proxy',
    '127.0.0.0/8',
  ]);
  const c = await talk(r.port);
  c.socket.write(
    encodeProxyV1({ srcAddress: '2001:db8::7', srcPort: 999, dstAddress: '2001:db8::1', dstPort: 25 }),
  );
  await c.closed;
  assert.ok(
    r.lines.some((l) => l.includes('client_addr: 2001:db8::7 client_port: 999] cannot connect')),
    r.lines.join('\n'),
  );
  const local = await talk(r.port);
  const localPort = local.socket.localPort;
  local.socket.write(encodeProxyV2(null, { command: 'LOCAL' }));
  await local.closed;
  assert.ok(
    r.lines.some((l) => l.includes(`client_addr: 127.0.0.1 client_port: ${localPort}]`)),
    r.lines.join('\n'),
  );
  assert.equal(r.router.counters.get('proxy_header_v1'), 1);
  assert.equal(r.router.counters.get('proxy_header_v2'), 1);
});

test('a trusted peer without a valid header is closed before any node is contacted', async () => {
  const n = await node();
  const r = await startRaw([
    '--rawrouter-to',
    n.address,
    '--rawrouter-enable-proxy-protocol',
    '--rawrouter-trusted-proxy',
    '127.0.0.0/8',
    '--socket-timeout',
    '1',
  ]);
  const bad = await talk(r.port);
  bad.socket.write('GET / HTTP/1.0\r\n\r\n');
  await bad.closed;
  assert.equal(bad.received(), '');
  const silent = await talk(r.port);
  const t0 = Date.now();
  await silent.closed;
  assert.ok(Date.now() - t0 >= 900, 'waited for the header');
  assert.equal(n.conns.length, 0);
  assert.equal(r.router.counters.get('UWR_ERR_PROXY_HEADER'), 2);
  assert.ok(
    r.lines.some((l) => l.includes('bad PROXY protocol header from a trusted peer (not-proxy): closing')),
  );
  assert.ok(
    r.lines.some((l) => l.includes('no complete PROXY protocol header from a trusted peer within 1000 ms')),
  );
});

test('PROXY intake on a dual-stack listener: an IPv4 peer (::ffff:…) matches an IPv4 trusted entry; a peer closing mid-header is logged', async () => {
  const n = await node({ echo: false });
  const r = await startRaw(
    [
      '--rawrouter-to',
      n.address,
      '--rawrouter-enable-proxy-protocol',
      '--rawrouter-trusted-proxy',
      '127.0.0.2',
    ],
    '[::]:0',
  );
  const v1 = encodeProxyV1({ srcAddress: '192.0.2.10', srcPort: 1234, dstAddress: '192.0.2.1', dstPort: 80 });
  const c = await talk(r.port, { localAddress: '127.0.0.2' });
  c.socket.write(Buffer.concat([v1, Buffer.from('after')]));
  await waitFor(() => n.conns[0]?.received.includes('after') ?? false);
  // the header was taken off: the node (without --rawrouter-proxy-protocol) gets the bytes after it
  assert.equal(n.conns[0].received.toString(), 'after');
  c.socket.destroy();
  const half = await talk(r.port, { localAddress: '127.0.0.2' });
  half.socket.end(v1.subarray(0, 9));
  await half.closed;
  await waitFor(() =>
    r.lines.some((l) => l.includes('the trusted peer closed inside its PROXY protocol header: closing')),
  );
  assert.equal(n.conns.length, 1);
});

/** A fake SMTP node for XCLIENT: a greeting, then one reply per command line. */
async function smtpNode(greeting = '220-mx.example first\r\n220 mx.example ready\r\n'): Promise<RawNode> {
  let handled = 0;
  return node({
    greeting,
    onData: (c) => {
      const lines = c.received.toString('latin1').split('\r\n').slice(0, -1);
      for (; handled < lines.length; handled++) {
        const cmd = lines[handled];
        if (cmd.startsWith('XCLIENT ')) c.socket.write('220 fresh greeting\r\n');
        else if (cmd === 'QUIT') c.socket.end('221 bye\r\n');
        else c.socket.write('500 what\r\n');
      }
    },
  });
}

test('--rawrouter-xclient: the whole greeting is replaced by the XCLIENT exchange; early client bytes wait', async () => {
  const n = await smtpNode();
  const r = await startRaw(['--rawrouter-to', n.address, '--rawrouter-xclient']);
  const c = await talk(r.port);
  // written before the node's greeting was even read: must reach it after XCLIENT
  c.socket.write('QUIT\r\n');
  await c.closed;
  assert.equal(c.received(), '220 fresh greeting\r\n221 bye\r\n');
  assert.equal(n.conns[0].received.toString('latin1'), 'XCLIENT ADDR=127.0.0.1\r\nQUIT\r\n');
});

test('--rawrouter-xclient: IPv6 clients get ADDR=IPV6:…, bad greetings close the session', async () => {
  const n = await smtpNode('220 v6\r\n');
  const r6 = await startRaw(['--rawrouter-to', n.address, '--rawrouter-xclient'], '[::1]:0');
  const c = await talk(r6.port, { host: '::1' });
  await c.until(/220 fresh greeting/);
  assert.equal(n.conns[0].received.toString('latin1'), 'XCLIENT ADDR=IPV6:::1\r\n');
  c.socket.destroy();

  const bareCr = await node({ greeting: '220 x\rY' });
  const r = await startRaw([
    '--rawrouter-to',
    bareCr.address,
    '--rawrouter-xclient',
    '--rawrouter-buffer-size',
    '64',
  ]);
  const b = await talk(r.port);
  await b.closed;
  assert.equal(b.received(), '');
  const long = await node({ greeting: `220 ${'x'.repeat(100)}\r\n` });
  const r2 = await startRaw([
    '--rawrouter-to',
    long.address,
    '--rawrouter-xclient',
    '--rawrouter-buffer-size',
    '64',
  ]);
  const l = await talk(r2.port);
  await l.closed;
  assert.equal(r.router.counters.get('UWR_ERR_XCLIENT'), 1);
  assert.equal(r2.router.counters.get('UWR_ERR_XCLIENT'), 1);
  assert.ok(r2.lines.some((x) => x.includes('node greeting longer than buffer-size 64 (xclient): closing')));
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
