/**
 * The sslrouter in-process (spec: ssl-sni-sessions.md §2, corerouter.md §3–5): option forms,
 * the relay after the handshake (server-speaks-first nodes included), keys by address and by
 * SNI, the node connected at the end of the handshake, close_notify, half-close, errors.
 * PROXY headers to nodes and stats: sslrouter-proxy.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { startRouters } from '../../src/start.ts';
import { startStalledListener } from '../corerouter/stalled-listener.ts';
import { node, waitFor } from '../rawrouter/raw-peers.ts';
import { ca, certs, own, ownListen, startSsl, tlsTalk } from './ssl-peers.ts';

const other = certs.leaf(ca, 'other.example', { names: ['127.0.0.1'], kind: 'rsa' });
const sni2 = certs.leaf(ca, 'sni2.example');
const clientLeaf = certs.leaf(ca, 'client one', { client: true });
const clientCert = { cert: readFileSync(clientLeaf.crt), key: readFileSync(clientLeaf.key) };

const sockDir = mkdtempSync(join(tmpdir(), 'uwr-sslr-sock-'));
after(() => rmSync(sockDir, { recursive: true, force: true }));

/** A UNIX-socket node that greets each connection with its own name. */
async function namedUnixNode(name: string): Promise<Server> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.end(`node ${name}\n`);
  });
  server.listen(join(sockDir, `${name}.sock`));
  await once(server, 'listening');
  after(() => new Promise<void>((r) => server.close(() => r())));
  return server;
}

async function startError(args: string[]): Promise<string> {
  const { config } = loadConfig(args, {});
  try {
    const running = await startRouters(config, silentLogger(), 'test');
    await running.close();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return (e as Error).message;
  }
  throw new Error('started');
}

test('option forms: --sslrouter ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]] and --sslrouter2, each listener its own certificate', async () => {
  const n = await node();
  const r = await startSsl([
    '--sslrouter',
    ownListen(),
    '--sslrouter',
    `127.0.0.1:0,${other.crt},${other.key},ECDHE-RSA-AES256-GCM-SHA384`,
    '--sslrouter2',
    `addr=127.0.0.1:0,crt=${own.crt},key=${own.key},client_ca=!${ca.crt}`,
    '--sslrouter-to',
    n.address,
  ]);
  const ports = r.router.listeners.map((l) => (l.server.address() as { port: number }).port);
  const a = await tlsTalk(ports[0]);
  assert.equal(a.socket.getPeerX509Certificate()?.subject, 'CN=ssl.example');
  a.socket.write('ping');
  await a.until(/^echo:ping$/);
  const b = await tlsTalk(ports[1], { maxVersion: 'TLSv1.2' });
  assert.equal(b.socket.getPeerX509Certificate()?.subject, 'CN=other.example');
  assert.equal(b.socket.getCipher().name, 'ECDHE-RSA-AES256-GCM-SHA384', 'CIPHERS is the TLS 1.2 list');
  // TLS 1.3: the client may finish before the router has checked its (missing) certificate;
  // either way the certificate_required alert ends it and nothing is relayed
  const anonymous = await tlsTalk(ports[2]).then(
    async (t) => {
      t.socket.write('no certificate');
      await t.closed;
      return t.received();
    },
    (e: Error) => e.message,
  );
  assert.match(anonymous, /^$|alert certificate required/);
  const c = await tlsTalk(ports[2], clientCert);
  c.socket.write('with a certificate');
  await c.until(/^echo:with a certificate$/);
  assert.ok(
    r.lines.includes(`uWSGI sslrouter bound on 127.0.0.1:${ports[0]} fd ${r.router.listeners[0].fd}`),
  );
});

test('bad listener values are start-up errors naming the option and the file', async () => {
  assert.match(
    await startError(['--sslrouter', `127.0.0.1:0,${own.crt}`]),
    /^--sslrouter "127\.0\.0\.1:0,.*": expected ADDR,CRT,KEY\[,CIPHERS\[,CLIENT_CA\]\]$/,
  );
  assert.match(
    await startError(['--sslrouter2', `addr=127.0.0.1:0,cert=${own.crt}`]),
    /--sslrouter2 ".*": needs addr, cert and key items/,
  );
  assert.match(
    await startError(['--sslrouter2', `addr=127.0.0.1:0,cert=${own.crt},key=${own.key},spdy=1`]),
    /unknown item "spdy=1"/,
  );
  assert.match(
    await startError(['--sslrouter', `127.0.0.1:0,${own.crt},${certs.path('missing.key')}`]),
    /^--sslrouter 127\.0\.0\.1:0: .*missing\.key: cannot read it \(ENOENT\)$/,
  );
  assert.match(
    await startError(['--sslrouter', ownListen('127.0.0.1:0', ',NOT-A-CIPHER')]),
    /OpenSSL refuses this certificate or cipher list/,
  );
});

test('plaintext both ways, 1 MiB each, intact; the node is connected when the handshake ends', async () => {
  const n = await node();
  const r = await startSsl(['--sslrouter', ownListen(), '--sslrouter-to', n.address]);
  const t = await tlsTalk(r.port);
  // no client byte yet: the node already has its connection (uWSGI waits for the first bytes)
  await waitFor(() => n.conns.length === 1, 3000, 'node connected after the handshake');
  const big = randomBytes(1 << 20);
  t.socket.write(big);
  const want = 5 + big.length; // "echo:" + the chunk, per chunk received by the node
  await waitFor(() => n.conns[0].received.length === big.length, 5000, 'node got 1 MiB');
  assert.equal(
    createHash('sha256').update(n.conns[0].received).digest('hex'),
    createHash('sha256').update(big).digest('hex'),
  );
  await waitFor(() => t.received().length >= want, 5000, 'echo back');
  const back = Buffer.from(t.received(), 'latin1').toString('latin1').replace(/echo:/g, '');
  assert.equal(
    createHash('sha256').update(Buffer.from(back, 'latin1')).digest('hex'),
    createHash('sha256').update(big).digest('hex'),
  );
});

test('a server-speaks-first node: its greeting reaches a client that has sent nothing', async () => {
  const n = await node({ greeting: '220 mail.example ESMTP ready\r\n', echo: false });
  const r = await startSsl(['--sslrouter', ownListen(), '--sslrouter-to', n.address]);
  const t = await tlsTalk(r.port);
  await t.until(/^220 mail\.example ESMTP ready\r\n$/);
  t.socket.write('EHLO client\r\n');
  await waitFor(() => n.conns[0].received.toString() === 'EHLO client\r\n', 3000, 'EHLO relayed');
});

test('keys: the listening address by default; with --sslrouter-sni the server name (normalised), else the address', async () => {
  const plain = await startSsl(['--sslrouter', ownListen(), '--sslrouter-use-pattern', `${sockDir}/%s.sock`]);
  const sni = await startSsl([
    '--sslrouter',
    ownListen(),
    '--sslrouter-sni',
    '--sslrouter-use-pattern',
    `${sockDir}/%s.sock`,
  ]);
  await namedUnixNode(`127.0.0.1:${plain.port}`);
  await namedUnixNode(`127.0.0.1:${sni.port}`);
  await namedUnixNode('named.example');
  const answer = async (port: number, servername?: string) => {
    const t = await tlsTalk(port, servername ? { servername } : {});
    await t.closed;
    return t.received();
  };
  assert.equal(await answer(plain.port, 'named.example'), `node 127.0.0.1:${plain.port}\n`);
  assert.equal(await answer(sni.port, 'Named.Example'), 'node named.example\n');
  assert.equal(await answer(sni.port), `node 127.0.0.1:${sni.port}\n`, 'no SNI: the address');
  // a name without a node: closed after the handshake, logged with the key
  const t = await tlsTalk(sni.port, { servername: 'nobody.example' });
  await t.closed;
  assert.equal(t.received(), '');
  await waitFor(() => sni.lines.some((l) => l.includes('key: nobody.example')), 3000, 'log line');
  assert.match(
    sni.lines.find((l) => l.includes('key: nobody.example')) ?? '',
    /^\[uwsgi-sslrouter key: nobody\.example client_addr: 127\.0\.0\.1 client_port: \d+\] cannot connect to ".*nobody\.example\.sock" for key "nobody\.example": No such file or directory: closing$/,
  );
});

test('SNI picks the certificate (--sni) while the key follows the name', async () => {
  const r = await startSsl([
    '--sslrouter',
    ownListen(),
    '--sni',
    `sni2.example ${sni2.crt},${sni2.key}`,
    '--sslrouter-sni',
    '--sslrouter-use-pattern',
    `${sockDir}/%s.sock`,
  ]);
  await namedUnixNode('sni2.example');
  const t = await tlsTalk(r.port, { servername: 'sni2.example' });
  assert.equal(t.socket.getPeerX509Certificate()?.subject, 'CN=sni2.example');
  await t.closed;
  assert.equal(t.received(), 'node sni2.example\n');
});

test('when the node ends, the client gets a close_notify before the FIN (TLS 1.2 alert record last)', async () => {
  const n = await node({ echo: false, onData: (c) => c.socket.end('bye\n') });
  const r = await startSsl(['--sslrouter', ownListen(), '--sslrouter-to', n.address]);
  // a relay that records what the router sends, byte for byte
  const fromRouter: Buffer[] = [];
  const relay = createServer((c) => {
    const up = connect({ port: r.port, host: '127.0.0.1' });
    c.on('data', (d) => up.write(d));
    up.on('data', (d) => {
      fromRouter.push(d);
      c.write(d);
    });
    up.on('end', () => c.end());
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  after(() => new Promise<void>((res) => relay.close(() => res())));
  const t = await tlsTalk((relay.address() as { port: number }).port, { maxVersion: 'TLSv1.2' });
  t.socket.write('hi');
  await t.closed;
  assert.equal(t.received(), 'bye\n');
  const bytes = Buffer.concat(fromRouter);
  let last = -1;
  for (let p = 0; p + 5 <= bytes.length; p += 5 + bytes.readUInt16BE(p + 3)) last = p;
  assert.equal(bytes[last], 21, 'the last record is an alert (close_notify), not application data');
});

test('a client that half-closes after its request still gets the answer', async () => {
  const n = await node({ echo: false, onEnd: (c) => c.socket.end(`got ${c.received.length} bytes\n`) });
  const r = await startSsl(['--sslrouter', ownListen(), '--sslrouter-to', n.address]);
  const t = await tlsTalk(r.port);
  t.socket.end('request');
  await t.until(/^got 7 bytes\n$/);
});

test('no node, a dead node, an idle session: closed with one line each and counted', async () => {
  const r = await startSsl([
    '--sslrouter',
    ownListen(),
    '--sslrouter-to',
    '127.0.0.1:1',
    '--sslrouter-max-retries',
    '0',
  ]);
  const t = await tlsTalk(r.port);
  await t.closed;
  assert.ok(
    r.lines.includes(
      '[uwsgi-sslrouter] unable to connect() to node "127.0.0.1:1" (0 retries): Connection refused',
    ),
  );
  const counters = (r.stats().uwrouter as { counters: Record<string, number> }).counters;
  assert.equal(counters.UWR_ERR_CONNECT, 1);
  const n = await node({ echo: false });
  const idle = await startSsl([
    '--sslrouter',
    ownListen(),
    '--sslrouter-to',
    n.address,
    '--sslrouter-timeout',
    '1',
  ]);
  const quiet = await tlsTalk(idle.port);
  const start = Date.now();
  await quiet.closed;
  const took = Date.now() - start;
  assert.ok(took >= 900 && took < 4000, `idle session closed after ${took} ms`);
  assert.ok(idle.lines.some((l) => /\] timeout: closing$/.test(l)));
});

test('a client that leaves while the node connect hangs: the attempt is dropped, the node not blamed', async () => {
  const stalled = await startStalledListener();
  after(() => stalled.close());
  const r = await startSsl([
    '--sslrouter',
    ownListen(),
    '--sslrouter-to',
    stalled.address,
    '--sslrouter-connect-timeout',
    '1',
  ]);
  const raw = connect({ port: r.port, host: '127.0.0.1' });
  await once(raw, 'connect');
  await tlsTalk(r.port, { socket: raw });
  // the server's side of the handshake done (a TLS 1.3 client finishes one flight earlier)
  const handshakes = () => (r.stats().tls as { handshakes: number }).handshakes;
  await waitFor(() => handshakes() === 1, 3000, 'the session is waiting for its node');
  // gone for good (a reset; a FIN would be a half-close, passed on once the node answers)
  raw.resetAndDestroy();
  await waitFor(() => r.router.activeSessions === 0, 3000, 'no session left');
  // past the connect timeout: an attempt left running would now fail and mark the node
  await sleep(2500);
  assert.deepEqual(
    r.lines.filter((l) => /unable to connect|marking/.test(l)),
    [],
    'the client left: not the node’s fault',
  );
  const statics = r.stats().static_nodes as Array<{ grace: number }>;
  assert.equal(statics[0].grace, 0);
});
