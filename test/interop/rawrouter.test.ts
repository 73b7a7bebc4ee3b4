/**
 * The rawrouter with real peers (spec: corerouter.md §3, §5, §8, §10), side by side with
 * uWSGI's own rawrouter where it is the reference: HTTP through the TCP relay to uWSGI
 * `--http-socket` nodes, dead-node retries with uWSGI's log lines and stats fields, a uWSGI
 * node subscribing under the listening address, a real SMTP server and client (the server
 * speaks first), and XCLIENT. The PROXY protocol with real peers: rawrouter-proxy.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  freePort,
  pollUntil,
  readStatsJson,
  spawnManaged,
  startUwrouter,
  startUwsgiNode,
  startUwsgiRouter,
} from './harness/index.ts';
import { startSmtpd } from './harness/smtpd.ts';
import { httpVia, type RawStats, uwrouterRaw, uwsgiRaw } from './rawrouter-peers.ts';

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
    const { port: smtpPort, smtpd } = await startSmtpd();
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
