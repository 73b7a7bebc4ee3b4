/**
 * The rawrouter with real peers (spec: corerouter.md §3, §5, §8, §10), side by side with
 * uWSGI's own rawrouter where it is the reference: HTTP through the TCP relay to uWSGI
 * `--http-socket` nodes, a real SMTP server (server speaks first) and client, XCLIENT,
 * dead-node retries with uWSGI's log lines and stats fields, a uWSGI node subscribing under
 * the listening address; and the PROXY protocol: uWSGI nodes reading uwrouter's v1 line,
 * HAProxy's `accept-proxy` reading uwrouter's v1/v2, HAProxy's `send-proxy-v2` read by uwrouter.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  freePort,
  haproxyTcpConf,
  pollUntil,
  readStatsJson,
  type ServerHandle,
  spawnManaged,
  startHaproxy,
  startUwrouter,
  startUwsgiNode,
  startUwsgiRouter,
} from './harness/index.ts';

interface Answer {
  status: string;
  vars: Record<string, string>;
  body: { length: number; sha256: string };
  /** the client's own port on this connection */
  localPort: number;
}

/** One HTTP/1.0 request over a fresh TCP connection (from `localAddress`), read to the close. */
async function httpVia(
  port: number,
  opts: { localAddress?: string; body?: Buffer; path?: string } = {},
): Promise<Answer> {
  const s = connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
  const chunks: Buffer[] = [];
  s.on('data', (c) => chunks.push(c));
  // a reset (the router closing on unread request bytes) counts as an empty answer
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  s.on('error', () => {});
  await once(s, 'connect');
  const localPort = s.localPort ?? 0;
  const body = opts.body ?? Buffer.alloc(0);
  s.write(
    `POST ${opts.path ?? '/raw?x=1'} HTTP/1.0\r\nHost: raw.example\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  s.write(body);
  await closed;
  const text = Buffer.concat(chunks).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return { status: text, vars: {}, body: { length: -1, sha256: '' }, localPort };
  const json = JSON.parse(text.slice(split + 4)) as { vars: Record<string, string>; body: Answer['body'] };
  return { status: text.slice(0, text.indexOf('\r\n')), vars: json.vars, body: json.body, localPort };
}

interface RawStats {
  version: string;
  active_sessions: number;
  rawrouter: string[];
  static_nodes?: Array<Record<string, number | string>>;
  subscriptions?: Array<{ key: string; nodes: Array<Record<string, number | string>> }>;
  cheap: number;
  uwrouter?: { counters: Record<string, number> };
}

async function uwrouterRaw(args: string[]): Promise<{ port: number; router: ServerHandle }> {
  const port = await freePort();
  const router = await startUwrouter(['--rawrouter', `127.0.0.1:${port}`, ...args]);
  return { port, router };
}

async function uwsgiRaw(args: string[]): Promise<{ port: number; router: ServerHandle }> {
  const port = await freePort();
  const router = await startUwsgiRouter('rawrouter', ['--rawrouter', `127.0.0.1:${port}`, ...args]);
  return { port, router };
}

describe('rawrouter: uwrouter and uWSGI in front of real uWSGI --http-socket nodes', () => {
  test("HTTP through the TCP relay: the node sees the same request as through uWSGI's rawrouter; 1 MiB body intact", async () => {
    const node = await startUwsgiNode({ app: 'echo_vars.py', protocol: 'http' });
    const ours = await uwrouterRaw(['--rawrouter-to', node.address]);
    const theirs = await uwsgiRaw(['--rawrouter-to', node.address]);
    const a = await httpVia(ours.port);
    const b = await httpVia(theirs.port);
    assert.equal(a.status, 'HTTP/1.0 200 OK');
    assert.equal(b.status, 'HTTP/1.0 200 OK');
    for (const k of [
      'REQUEST_METHOD',
      'REQUEST_URI',
      'QUERY_STRING',
      'HTTP_HOST',
      'SERVER_PROTOCOL',
      'REMOTE_ADDR',
    ]) {
      assert.equal(a.vars[k], b.vars[k], k);
    }
    const big = randomBytes(1 << 20);
    const c = await httpVia(ours.port, { body: big });
    assert.deepEqual(c.body, { length: big.length, sha256: createHash('sha256').update(big).digest('hex') });
  });

  test('--rawrouter-proxy-protocol 1: a uWSGI node with --enable-proxy-protocol sees the real client address and port', async () => {
    const node = await startUwsgiNode({
      app: 'echo_vars.py',
      protocol: 'http',
      args: ['--enable-proxy-protocol'],
    });
    const ours = await uwrouterRaw(['--rawrouter-to', node.address, '--rawrouter-proxy-protocol', '1']);
    const a = await httpVia(ours.port, { localAddress: '127.0.0.5' });
    assert.equal(a.status, 'HTTP/1.0 200 OK');
    assert.equal(a.vars.REMOTE_ADDR, '127.0.0.5');
    assert.equal(a.vars.REMOTE_PORT, String(a.localPort));
  });

  test("a dead static node: uWSGI's log lines, traffic on the live node, stats with uWSGI's field names", async () => {
    const node = await startUwsgiNode({ app: 'echo_vars.py', protocol: 'http' });
    const dead = `127.0.0.1:${await freePort()}`;
    const [s1, s2] = [await freePort(), await freePort()];
    const ours = await uwrouterRaw([
      '--rawrouter-to',
      dead,
      '--rawrouter-to',
      node.address,
      '--rawrouter-stats',
      `127.0.0.1:${s1}`,
    ]);
    const theirs = await uwsgiRaw([
      '--rawrouter-to',
      dead,
      '--rawrouter-to',
      node.address,
      '--rawrouter-stats',
      `127.0.0.1:${s2}`,
    ]);
    for (const r of [ours, theirs]) {
      for (let i = 0; i < 3; i++) assert.equal((await httpVia(r.port)).status, 'HTTP/1.0 200 OK');
      const logs = r.router.logs();
      assert.ok(
        logs.includes(
          `[uwsgi-rawrouter] unable to connect() to node "${dead}" (0 retries): Connection refused`,
        ),
        logs,
      );
      assert.ok(logs.includes(`[uwsgi-rawrouter] 127.0.0.1:${r.port} => marking ${dead} as failed`), logs);
      assert.ok(logs.includes(`uWSGI rawrouter bound on 127.0.0.1:${r.port} fd `), logs);
    }
    const mine = await readStatsJson<RawStats>(s1);
    const ref = await readStatsJson<RawStats>(s2);
    for (const k of Object.keys(ref)) assert.ok(k in mine, `stats field ${k}`);
    assert.deepEqual(
      mine.rawrouter,
      ref.rawrouter.map((n) => n.replace(String(theirs.port), String(ours.port))),
    );
    assert.deepEqual(Object.keys(mine.static_nodes![0]).sort(), Object.keys(ref.static_nodes![0]).sort());
    // hits = successful connects: the 3 requests and the harness's readiness probe, on both
    const hits = (s: RawStats) => s.static_nodes!.map((n) => [n.name, n.hits]);
    assert.deepEqual(hits(mine), hits(ref));
    assert.deepEqual(hits(mine), [
      [dead, 0],
      [node.address, 4],
    ]);
  });

  test('a uWSGI node subscribing under the listening address is routed to, by uwrouter and uWSGI alike', async () => {
    const [p1, p2, u1, u2, s1, s2] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
    const ours = await startUwrouter([
      '--rawrouter',
      `127.0.0.1:${p1}`,
      '--rawrouter-subscription-server',
      `127.0.0.1:${u1}`,
      '--rawrouter-stats',
      `127.0.0.1:${s1}`,
    ]);
    const theirs = await startUwsgiRouter('rawrouter', [
      '--rawrouter',
      `127.0.0.1:${p2}`,
      '--rawrouter-subscription-server',
      `127.0.0.1:${u2}`,
      '--rawrouter-stats',
      `127.0.0.1:${s2}`,
    ]);
    const node = await startUwsgiNode({
      app: 'echo_vars.py',
      protocol: 'http',
      args: [
        '--subscribe-freq',
        '1',
        '--subscribe2',
        `server=127.0.0.1:${u1},key=127.0.0.1:${p1}`,
        '--subscribe2',
        `server=127.0.0.1:${u2},key=127.0.0.1:${p2}`,
      ],
    });
    // wait for the tables, not by trying requests: uWSGI 2.0.21's rawrouter segfaults on a
    // connection whose key maps to no node, and its respawned process starts with an empty table
    for (const stats of [s1, s2]) {
      await pollUntil(
        `node subscribed (stats ${stats})`,
        async () =>
          (await readStatsJson<RawStats>(stats)).subscriptions?.[0]?.nodes.length ? true : undefined,
        { retryErrors: true },
      );
    }
    for (const port of [p1, p2]) assert.equal((await httpVia(port)).status, 'HTTP/1.0 200 OK', `via ${port}`);
    const mine = await readStatsJson<RawStats>(s1);
    const ref = await readStatsJson<RawStats>(s2);
    assert.equal(mine.subscriptions?.[0]?.key, `127.0.0.1:${p1}`);
    assert.equal(ref.subscriptions?.[0]?.key, `127.0.0.1:${p2}`);
    assert.equal(mine.subscriptions?.[0]?.nodes[0]?.name, node.address);
    for (const k of Object.keys(ref.subscriptions![0].nodes[0])) {
      assert.ok(k in mine.subscriptions![0].nodes[0], `node stats field ${k}`);
    }
    assert.match(
      ours.logs(),
      new RegExp(`127\\.0\\.0\\.1:${p1} => new node: ${node.address.replace(/\./g, '\\.')}`),
    );
    assert.match(
      theirs.logs(),
      new RegExp(`127\\.0\\.0\\.1:${p2} => new node: ${node.address.replace(/\./g, '\\.')}`),
    );
    // SIGINT: the node unsubscribes; uwrouter then closes new connections without a reply
    await node.stop();
    await pollUntil('node gone', async () => ((await httpVia(p1)).status === '' ? true : undefined), {
      retryErrors: true,
    });
  });
});

describe('rawrouter: PROXY protocol with HAProxy', () => {
  test("HAProxy send-proxy-v2 → uwrouter (trusted) → v1 to a uWSGI node: the node sees HAProxy's client", async () => {
    const node = await startUwsgiNode({
      app: 'echo_vars.py',
      protocol: 'http',
      args: ['--enable-proxy-protocol'],
    });
    const stats = await freePort();
    const ours = await uwrouterRaw([
      '--rawrouter-to',
      node.address,
      '--rawrouter-proxy-protocol',
      '1',
      '--rawrouter-enable-proxy-protocol',
      '--rawrouter-trusted-proxy',
      '127.0.0.1',
      '--rawrouter-stats',
      `127.0.0.1:${stats}`,
    ]);
    const hp = await freePort();
    await startHaproxy(
      haproxyTcpConf(
        `frontend f\n  bind 127.0.0.1:${hp}\n  default_backend b\nbackend b\n  server s 127.0.0.1:${ours.port} send-proxy-v2\n`,
      ),
      { port: hp },
    );
    const a = await httpVia(hp, { localAddress: '127.0.0.6' });
    assert.equal(a.status, 'HTTP/1.0 200 OK');
    assert.equal(a.vars.REMOTE_ADDR, '127.0.0.6');
    assert.equal(a.vars.REMOTE_PORT, String(a.localPort));
    const s = await readStatsJson<RawStats>(stats);
    assert.ok((s.uwrouter?.counters.proxy_header_v2 ?? 0) >= 1, JSON.stringify(s.uwrouter));
    // the client straight to uwrouter from 127.0.0.1 (trusted) without a header is refused
    assert.equal((await httpVia(ours.port)).status, '');
    assert.match(ours.router.logs(), /bad PROXY protocol header from a trusted peer \(not-proxy\): closing/);
  });

  test("uwrouter → HAProxy accept-proxy: HAProxy takes uwrouter's v1 and v2 headers (and passes the client on)", async () => {
    const node = await startUwsgiNode({
      app: 'echo_vars.py',
      protocol: 'http',
      args: ['--enable-proxy-protocol'],
    });
    const hp = await freePort();
    // HAProxy as the rawrouter's node: reads the PROXY header, re-sends the client as v1
    await startHaproxy(
      haproxyTcpConf(
        `frontend f\n  bind 127.0.0.1:${hp} accept-proxy\n  default_backend b\nbackend b\n  server s ${node.address} send-proxy\n`,
      ),
      { port: hp },
    );
    for (const version of ['1', '2']) {
      const ours = await uwrouterRaw([
        '--rawrouter-to',
        `127.0.0.1:${hp}`,
        '--rawrouter-proxy-protocol',
        version,
      ]);
      const a = await httpVia(ours.port, { localAddress: '127.0.0.7' });
      assert.equal(a.status, 'HTTP/1.0 200 OK', `v${version}`);
      assert.equal(a.vars.REMOTE_ADDR, '127.0.0.7', `v${version}`);
      assert.equal(a.vars.REMOTE_PORT, String(a.localPort), `v${version}`);
    }
  });
});

/** A recording SMTP-like node (server speaks first); answers XCLIENT with a fresh greeting. */
async function xclientNode(
  greeting: string,
): Promise<{ port: number; received: () => string[]; server: Server }> {
  const received: string[] = [];
  const server = createServer((s: Socket) => {
    let text = '';
    const i = received.push('') - 1;
    s.on('error', () => {});
    s.write(greeting);
    s.on('data', (d) => {
      text += d.toString('latin1');
      received[i] = text;
      if (/^XCLIENT [^\r]*\r\n$/.test(text)) s.write('220 fresh greeting\r\n');
      if (text.endsWith('QUIT\r\n')) s.end('221 bye\r\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, received: () => received, server };
}

/** Waits for `until` in what the router sends, then says QUIT; returns everything received. */
async function smtpSession(port: number, until: RegExp): Promise<string> {
  const s = connect({ port, host: '127.0.0.1' });
  let text = '';
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  s.on('error', (e) => {
    text += `<${(e as NodeJS.ErrnoException).code}>`;
  });
  let quit = false;
  s.on('data', (d) => {
    text += d.toString('latin1');
    if (!quit && until.test(text)) {
      quit = true;
      s.write('QUIT\r\n');
    }
  });
  await closed;
  return text;
}

describe('rawrouter: server-speaks-first nodes', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  test('a real SMTP server (Python smtpd) and client (smtplib) through uwrouter and uWSGI: the mail arrives', async () => {
    const smtpPort = await freePort();
    const smtpd = spawnManaged('smtpd', '/usr/bin/python3', [
      '-u',
      '-W',
      'ignore',
      '-m',
      'smtpd',
      '-n',
      '-c',
      'DebuggingServer',
      `127.0.0.1:${smtpPort}`,
    ]);
    await pollUntil(
      'smtpd listening',
      () =>
        new Promise<true | undefined>((resolve) => {
          const c = connect(smtpPort, '127.0.0.1');
          c.once('connect', () => {
            c.destroy();
            resolve(true);
          });
          c.once('error', () => resolve(undefined));
        }),
    );
    const ours = await uwrouterRaw(['--rawrouter-to', `127.0.0.1:${smtpPort}`]);
    const theirs = await uwsgiRaw(['--rawrouter-to', `127.0.0.1:${smtpPort}`]);
    for (const [label, port] of [
      ['uwrouter', ours.port],
      ['uwsgi', theirs.port],
    ] as const) {
      // smtplib waits for the greeting before it writes anything: this only works when the
      // router connects the node at accept
      const client = spawnManaged(`smtplib ${label}`, '/usr/bin/python3', [
        '-c',
        `import smtplib\ns = smtplib.SMTP('127.0.0.1', ${port}, timeout=10)\ns.ehlo('client.example')\ns.sendmail('a@example.com', ['b@example.com'], 'Subject: via ${label}\\n\\nbody-of-${label}')\ns.quit()\nprint('SENT-OK')`,
      ]);
      const exit = await client.exited;
      assert.equal(exit.code, 0, client.logs());
      assert.match(client.logs(), /SENT-OK/);
      await pollUntil(`mail via ${label}`, () =>
        smtpd.logs().includes(`body-of-${label}`) ? true : undefined,
      );
    }
    await smtpd.stop();
  });

  test('--rawrouter-xclient: the node gets the same XCLIENT line as from uWSGI; multi-line greetings as documented', async () => {
    const single = await xclientNode('220 mx.example ESMTP\r\n');
    servers.push(single.server);
    const ours = await uwrouterRaw(['--rawrouter-to', `127.0.0.1:${single.port}`, '--rawrouter-xclient']);
    const theirs = await uwsgiRaw(['--rawrouter-to', `127.0.0.1:${single.port}`, '--rawrouter-xclient']);
    const a = await smtpSession(ours.port, /220 fresh greeting\r\n/);
    const b = await smtpSession(theirs.port, /220 fresh greeting\r\n/);
    assert.equal(a, '220 fresh greeting\r\n221 bye\r\n');
    assert.equal(b, a);
    // (the harness's readiness probes are sessions too: only the QUIT sessions are ours)
    assert.deepEqual(
      single.received().filter((r) => r.includes('QUIT')),
      ['XCLIENT ADDR=127.0.0.1\r\nQUIT\r\n', 'XCLIENT ADDR=127.0.0.1\r\nQUIT\r\n'],
    );

    // uWSGI drops the first line only: the rest of a multi-line greeting reaches the client
    const multi = await xclientNode('220-mx.example first\r\n220 mx.example second\r\n');
    servers.push(multi.server);
    const ours2 = await uwrouterRaw(['--rawrouter-to', `127.0.0.1:${multi.port}`, '--rawrouter-xclient']);
    const theirs2 = await uwsgiRaw(['--rawrouter-to', `127.0.0.1:${multi.port}`, '--rawrouter-xclient']);
    assert.equal(
      await smtpSession(ours2.port, /220 fresh greeting\r\n/),
      '220 fresh greeting\r\n221 bye\r\n',
    );
    assert.equal(
      await smtpSession(theirs2.port, /220 fresh greeting\r\n/),
      '220 mx.example second\r\n220 fresh greeting\r\n221 bye\r\n',
    );
  });
});
