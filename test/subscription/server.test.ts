import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { decodeSubscription } from '../../src/protocol/subscription.ts';
import { Subscriber } from '../../src/subscription/client.ts';
import { subscribe } from '../../src/subscription/index.ts';
import { SubscriptionMapper } from '../../src/subscription/mapper.ts';
import { SubscriptionServer } from '../../src/subscription/server.ts';
import { SubscriptionSystem } from '../../src/subscription/system.ts';
import { captureLogger, fixture, keyDir, makeTable, privateKey } from './harness.ts';

const closers: Array<() => unknown> = [];
after(async () => {
  for (const c of closers) await c();
});

async function startServer(
  addresses = ['127.0.0.1:0'],
  resubscribe?: ConstructorParameters<typeof SubscriptionServer>[0]['resubscribe'],
) {
  const t = makeTable();
  const server = new SubscriptionServer({ addresses, receiver: t.receiver, logger: t.logger, resubscribe });
  await server.listen();
  closers.push(() => server.close());
  const [host, port] = splitAddr(server.addresses()[0]);
  return { ...t, server, host, port };
}

function splitAddr(a: string): [string, number] {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i).replace(/^\[|\]$/g, ''), Number(a.slice(i + 1))];
}

function sender(type: 'udp4' | 'udp6' = 'udp4'): Socket {
  const s = createSocket(type);
  s.unref();
  closers.push(() => s.close());
  return s;
}

const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('UDP: real fixture datagrams subscribe and unsubscribe (IPv4 and IPv6, several sockets)', async () => {
  const s = await startServer(['127.0.0.1:0', '[::1]:0']);
  assert.equal(s.server.addresses().length, 2);
  const c = sender();
  c.send(fixture('subscribe-plain.bin'), s.port, '127.0.0.1');
  await until(() => s.table.pools.has('example.com'));
  const [, port6] = splitAddr(s.server.addresses()[1]);
  const c6 = sender('udp6');
  c6.send(fixture('unsubscribe-plain.bin'), port6, '::1');
  await until(() => s.table.pools.size === 0);
  assert.ok(s.lines.includes('[uWSGI fastrouter pid 4242] example.com => marking 127.0.0.1:21031 as failed'));
});

test('UDP: datagrams over 4096 bytes are truncated to 4096 as in uWSGI', async () => {
  const s = await startServer();
  const base = fixture('subscribe-plain.bin');
  const pad = Buffer.alloc(5000 - base.length);
  pad.writeUInt16LE(1, 0);
  pad[2] = 0x78;
  pad.writeUInt16LE(pad.length - 5, 3);
  sender().send(Buffer.concat([base, pad]), s.port, '127.0.0.1');
  await until(() => s.server.truncated === 1);
  assert.equal(s.table.pools.size, 1, 'vars before the cut still apply');
});

test('unix datagram servers are refused with a clear config error', () => {
  const t = makeTable();
  assert.throws(
    () => new SubscriptionServer({ addresses: ['/tmp/sub.sock'], receiver: t.receiver, logger: t.logger }),
    {
      code: 'UWR_ERR_CONFIG',
      message: /AF_UNIX SOCK_DGRAM/,
    },
  );
});

test('resubscribe: forwards a new packet with our address and zeroed load, even when rejected', async () => {
  const up = sender();
  const got: Buffer[] = [];
  up.on('message', (m) => got.push(m));
  await new Promise<void>((r) => up.bind(0, '127.0.0.1', r));
  const s = await startServer(['127.0.0.1:0'], {
    targets: [`127.0.0.1:${up.address().port}`],
    ownAddress: '127.0.0.1:3017',
  });
  const c = sender();
  c.send(fixture('subscribe2-sni-notify.bin'), s.port, '127.0.0.1');
  c.send(fixture('unsubscribe2-weight3-modifier1-5.bin'), s.port, '127.0.0.1'); // unknown node: still forwarded
  await until(() => got.length === 2);
  const p = decodeSubscription(got[0])!;
  assert.equal(p.cmd, 'subscribe');
  assert.equal(p.key, 'sni.example.com');
  assert.equal(p.address, '127.0.0.1:3017');
  assert.deepEqual([p.modifier2, p.cores, p.load, p.weight], [7, 0, 0, 0]);
  assert.equal(p.sniCrt, '/etc/ssl/sni.crt');
  assert.equal(p.notify, undefined);
  assert.equal(p.sign, undefined);
  const u = decodeSubscription(got[1])!;
  assert.deepEqual([u.cmd, u.key, u.modifier1], ['unsubscribe', 'example.com', 5]);
});

test('Subscriber: announces at 0 s and 1 s, signed, then unsubscribes on stop()', async () => {
  const dir = keyDir('signed.example.com');
  const { logger } = captureLogger();
  const sys = new SubscriptionSystem({
    router: 'fastrouter',
    logger,
    servers: ['127.0.0.1:0'],
    signChecks: [{ digest: 'sha256', dir }],
    sweepIntervalMs: 0,
  });
  await sys.listen();
  closers.push(() => sys.close());
  const [serverHost, serverPort] = splitAddr(sys.server.addresses()[0]);
  // a relay in front of the server notes when each datagram arrives (the wire schedule, as
  // announce-timing.txt records uWSGI's) and passes it on unchanged
  const relay = sender();
  const arrivals: Array<{ at: number; cmd: string | undefined }> = [];
  relay.on('message', (m) => {
    arrivals.push({ at: performance.now() - t0, cmd: decodeSubscription(m)?.cmd });
    relay.send(m, serverPort, serverHost);
  });
  await new Promise<void>((r) => relay.bind(0, '127.0.0.1', r));
  const sub = new Subscriber({
    targets: [
      {
        server: `127.0.0.1:${relay.address().port}`,
        key: 'signed.example.com',
        address: '127.0.0.1:3031',
        sign: {
          digest: 'SHA256',
          keyFile: `${new URL('../fixtures/keys/private.pem', import.meta.url).pathname}`,
        },
      },
    ],
    freq: 10,
  });
  const t0 = performance.now();
  sub.start();
  await until(() => sys.receiver.counters.accepted['new-pool'] === 1);
  // long enough for a periodic (+10 s) announce, so a missing +1 s one fails on the times below
  await until(() => sys.receiver.counters.accepted.refresh === 1, 12_000);
  const m = new SubscriptionMapper(sys.table);
  assert.equal(
    m.pick('signed.example.com', { address: '127.0.0.1', port: 1 })?.address.name,
    '127.0.0.1:3031',
  );
  // the pick above holds a reference; release path is the router's, here we just stop
  await sub.stop();
  await until(() => sys.receiver.counters.accepted.unsubscribe === 1);
  assert.equal(sys.stats[0].statsName, 'subscriptions');
  assert.equal(sub.sent, 3);
  // spec: announce-timing.txt — uWSGI announces at +0 s and +1 s, then every freq (10 s)
  assert.deepEqual(
    arrivals.map((a) => a.cmd),
    ['subscribe', 'subscribe', 'unsubscribe'],
  );
  const [first, second] = arrivals;
  // times from start(): the first goes out from start() itself, before the +1 s timer could
  assert.ok(first.at < 1000, `first announce at +${first.at} ms`);
  // the second is the +1 s one: not sent early (timers start from the loop's cached clock,
  // so allow 50 ms), and not the periodic one (that would be +10 s; 5 s splits the two)
  assert.ok(second.at >= 1000 - 50 && second.at < 5000, `second announce at +${second.at} ms`);
});

test('subscribe(): the three-line programmatic API', async () => {
  const s = await startServer();
  const sub = subscribe({
    server: `127.0.0.1:${s.port}`,
    key: 'app.example.com',
    address: 'http://127.0.0.1:3000',
    weight: 2,
  });
  await until(() => s.table.pools.has('app.example.com'));
  const node = s.table.pools.get('app.example.com')!.nodes[0];
  assert.equal(node.address.proto, 'http');
  assert.equal(node.weight, 2);
  await sub.stop();
  await until(() => s.table.pools.size === 0);
});

test('subscribe() with an in-memory signing key', async () => {
  const dir = keyDir('s.example.com');
  const { logger } = captureLogger();
  const sys = new SubscriptionSystem({
    router: 'http',
    logger,
    servers: ['127.0.0.1:0'],
    signChecks: [{ digest: 'sha1', dir }],
    sweepIntervalMs: 0,
  });
  await sys.listen();
  closers.push(() => sys.close());
  const sub = subscribe({
    server: sys.server.addresses()[0],
    key: 's.example.com',
    address: '127.0.0.1:1',
    sign: { digest: 'sha1', privateKey },
  });
  await until(() => sys.table.pools.has('s.example.com'));
  await sub.stop();
});

test('flood: 100k datagrams (good, bad, random keys) keep memory bounded and are all counted', async () => {
  const s = await startServer();
  const c = sender();
  const good = fixture('subscribe-plain.bin');
  const before = process.memoryUsage().heapUsed;
  const N = 100_000;
  let sent = 0;
  while (sent < N) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 200 && sent < N; i++, sent++) {
      let b: Buffer;
      if (sent % 3 === 0) b = good;
      else if (sent % 3 === 1)
        b = Buffer.from(
          `\xe0\x10\x00\x00\x03\x00key\x05\x00k${sent % 10000}\x07\x00address\x03\x00b:x`,
          'latin1',
        );
      else b = Buffer.from([224, 1, 2, 3, sent & 0xff]);
      batch.push(new Promise((r) => c.send(b, s.port, '127.0.0.1', () => r())));
    }
    await Promise.all(batch);
    // pace the sender on what the server has read, so the kernel buffer does not overflow
    await until(() => s.receiver.counters.datagrams >= sent - 200, 200).catch(() => undefined);
  }
  await until(() => s.receiver.counters.datagrams >= N * 0.95, 10000).catch(() => undefined);
  const c2 = s.receiver.counters;
  // loopback UDP may drop a few under load; every received datagram is counted once
  const accounted =
    Object.values(c2.accepted).reduce((a, b) => a + b, 0) +
    Object.values(c2.rejected).reduce((a, b) => a + b, 0);
  assert.equal(accounted, c2.datagrams);
  assert.ok(c2.datagrams > N * 0.9, `received ${c2.datagrams}`);
  assert.equal(s.table.pools.size, 1);
  assert.ok(s.lines.length < 500, `log lines bounded: ${s.lines.length}`);
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 64 * 1024 * 1024, `heap grew ${grown}`);
});

test('receive buffer: 4 MiB asked by default (--subscription-rcvbuf); a cap by net.core.rmem_max is logged', async () => {
  const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'latin1'));
  const t = makeTable();
  const server = new SubscriptionServer({
    addresses: ['127.0.0.1:0'],
    receiver: t.receiver,
    logger: t.logger,
  });
  await server.listen();
  closers.push(() => server.close());
  const socket = (server as unknown as { sockets: Socket[] }).sockets[0];
  // Linux reports twice what it granted (its bookkeeping share)
  assert.equal(socket.getRecvBufferSize(), 2 * Math.min(4 * 1024 * 1024, rmemMax));
  const capped = makeTable();
  const big = new SubscriptionServer({
    addresses: ['127.0.0.1:0'],
    receiver: capped.receiver,
    logger: capped.logger,
    rcvbuf: rmemMax + 4096,
  });
  await big.listen();
  closers.push(() => big.close());
  const line = capped.lines.find((l) => l.includes('receive buffer capped'));
  assert.match(
    line ?? '',
    new RegExp(
      `subscription server 127\\.0\\.0\\.1:\\d+: receive buffer capped at ${rmemMax} bytes by net\\.core\\.rmem_max \\(asked ${rmemMax + 4096}, --subscription-rcvbuf\\)`,
    ),
  );
});

test('datagrams the kernel dropped (receive buffer full) are counted from /proc/net/udp', async () => {
  const t = makeTable();
  const server = new SubscriptionServer({
    addresses: ['127.0.0.1:0'],
    receiver: t.receiver,
    logger: t.logger,
    rcvbuf: 16384, // room for a few dozen datagrams
  });
  await server.listen();
  closers.push(() => server.close());
  const port = Number(server.addresses()[0].split(':')[1]);
  assert.equal(server.kernelDrops(), 0);
  // a child sends 3,000 announcements while this process does not read (execFileSync blocks)
  execFileSync(process.execPath, [
    '-e',
    `const d=require('dgram').createSocket('udp4');const b=Buffer.from(${JSON.stringify(fixture('subscribe-plain.bin').toString('hex'))},'hex');let n=0;(function go(){for(let i=0;i<100;i++){d.send(b,${port},'127.0.0.1');n++}if(n<3000)setImmediate(go);else setTimeout(()=>process.exit(0),100)})()`,
  ]);
  await until(() => t.receiver.counters.datagrams > 0);
  await new Promise((r) => setTimeout(r, 100));
  const drops = server.kernelDrops() ?? -1;
  assert.ok(drops > 0, `drops ${drops}`);
  assert.equal(drops + t.receiver.counters.datagrams, 3000);
});
