/**
 * HTTPS listeners of the HTTP router against fake nodes (spec: http-router.md §4, §9): the
 * vars a uwsgi node gets (HTTPS=on, client certificate vars), the key (Host > SNI >
 * hostname), keepalive over TLS, plain and redirect listeners beside HTTPS ones,
 * X-Forwarded-Proto for HTTP nodes, the close_notify at the end, plain HTTP on the TLS port.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer, connect as netConnect } from 'node:net';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { TestCerts } from '../tls/test-certs.ts';
import {
  answer,
  bodyOf,
  noSessionsLeft,
  onCleanup,
  RawClient,
  rawExchange,
  startRouter,
  uwsgiNode,
  waitFor,
} from './fakes.ts';

const certs = new TestCerts('https-session');
const ca = certs.ca();
const site = certs.leaf(ca, 'site.example', { names: ['localhost', '127.0.0.1'] });
const person = certs.leaf(ca, 'https client', { client: true });

/** `--https 127.0.0.1:0,CRT,KEY[EXTRA]` */
const httpsArg = (extra = ''): string[] => ['--https', `127.0.0.1:0,${site.crt},${site.key}${extra}`];

interface TlsResult {
  text: string;
  /** the handshake failed or the connection was reset */
  error: string | null;
  socket: TLSSocket;
}

interface TlsClientOptions {
  /** SNI name; '' sends none */
  servername?: string;
  maxVersion?: 'TLSv1.2';
  withCert?: boolean;
  /** the next write (or the end) is due when this matches what was read so far (default: at the close) */
  until?: (text: string, written: number) => boolean;
}

/** One TLS connection: writes each of `writes` once the previous answer matched `until`. */
function tlsExchange(port: number, writes: string[], o: TlsClientOptions = {}): Promise<TlsResult> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      servername: o.servername ?? 'site.example',
      ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
      ca: readFileSync(ca.crt),
      // the chain is verified; the name is the test's own choice (the key tests send others)
      checkServerIdentity: () => undefined,
      ...(o.withCert ? { cert: readFileSync(person.crt), key: readFileSync(person.key) } : {}),
    });
    onCleanup(() => {
      socket.destroy();
    });
    let text = '';
    let error: string | null = null;
    let next = 0;
    const done = (): void => resolve({ text, error, socket });
    const writeNext = (): void => {
      if (next < writes.length) socket.write(writes[next++]);
    };
    socket.on('secureConnect', writeNext);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (o.until?.(text, next)) {
        if (next < writes.length) writeNext();
        else done();
      }
    });
    socket.on('error', (e) => {
      error = e.message;
    });
    socket.on('close', done);
  });
}

/** As many complete `ok` responses in `text` as requests were written. */
const answered = (text: string, written: number): boolean =>
  text.split('HTTP/1.1 ').length - 1 >= written && text.endsWith('ok');

test('a uwsgi node gets HTTPS=on after UWSGI_ROUTER, SERVER_PORT of the HTTPS listener; keepalive over TLS', async () => {
  const n = await uwsgiNode(answer('ok'));
  const r = await startRouter([...httpsArg(), '--http-to', n.address, '--http-keepalive'], false);
  const req = 'GET /a?b=1 HTTP/1.1\r\nHost: site.example\r\n\r\n';
  const res = await tlsExchange(r.port, [req, req], { until: answered });
  assert.equal(res.error, null);
  assert.equal(res.text.split('HTTP/1.1 200 OK').length - 1, 2, res.text);
  assert.equal(n.requests.length, 2);
  const first = n.requests[0];
  assert.deepEqual(first.order.slice(0, 13), [
    'REQUEST_METHOD',
    'PATH_INFO',
    'REQUEST_URI',
    'QUERY_STRING',
    'SERVER_PROTOCOL',
    'SCRIPT_NAME',
    'SERVER_NAME',
    'SERVER_PORT',
    'UWSGI_ROUTER',
    'HTTPS',
    'REMOTE_ADDR',
    'REMOTE_PORT',
    'HTTP_HOST',
  ]);
  assert.equal(first.vars.get('HTTPS'), 'on');
  assert.equal(first.vars.get('SERVER_PORT'), String(r.port));
  assert.equal(first.vars.get('REMOTE_ADDR'), '127.0.0.1');
  assert.equal(first.vars.get('REMOTE_PORT'), String(res.socket.localPort));
  // no client certificate was asked for: none of its vars
  for (const k of ['HTTPS_CLIENT_CERTIFICATE', 'HTTPS_DN', 'HTTPS_CC'])
    assert.equal(first.vars.has(k), false);
  res.socket.destroy();
  await noSessionsLeft(r);
});

test('plain, HTTPS and redirect listeners in one router: only the HTTPS one says HTTPS=on', async () => {
  const n = await uwsgiNode(answer('ok'));
  const r = await startRouter(
    ['--http', '127.0.0.1:0', ...httpsArg(), '--http-to-https', '127.0.0.1:0,8443', '--http-to', n.address],
    false,
  );
  assert.equal(r.ports.length, 3);
  const [plainPort, tlsPort, redirectPort] = r.ports;
  const plain = await rawExchange(plainPort, 'GET / HTTP/1.0\r\nHost: site.example\r\n\r\n');
  assert.equal(bodyOf(plain), 'ok');
  assert.equal(n.requests[0].vars.has('HTTPS'), false);
  const tls = await tlsExchange(tlsPort, ['GET / HTTP/1.0\r\nHost: site.example\r\n\r\n']);
  assert.equal(bodyOf(tls.text), 'ok');
  assert.equal(n.requests[1].vars.get('HTTPS'), 'on');
  const moved = await rawExchange(redirectPort, 'GET /x?y HTTP/1.0\r\nHost: site.example\r\n\r\n');
  assert.match(
    moved,
    /^HTTP\/1\.1 301 Moved Permanently\r\nLocation: https:\/\/site\.example:8443\/x\?y\r\n/,
  );
  assert.equal(n.requests.length, 2);
  await noSessionsLeft(r);
});

test('the key: Host, else the TLS server name, else the hostname (spec §4)', async () => {
  // no node source: every request is a 404 whose log record names its key
  const r = await startRouter(httpsArg(), false);
  const keyOf = async (servername: string, head: string): Promise<string> => {
    const before = r.records.length;
    const res = await tlsExchange(r.port, [`GET / HTTP/1.0\r\n${head}\r\n`], { servername });
    assert.match(res.text, /^HTTP\/1\.1 404 /, res.text);
    const rec = r.records.slice(before).find((x) => x.code === 'UWR_ERR_NO_KEY');
    assert.ok(rec, `a 404 line: ${JSON.stringify(r.records.slice(before))}`);
    return String(rec.key);
  };
  assert.equal(await keyOf('sni.example', ''), 'sni.example');
  assert.equal(await keyOf('sni.example', 'Host: Host.Example\r\n'), 'host.example');
  assert.equal(await keyOf('', ''), hostname().toLowerCase());
  await noSessionsLeft(r);
});

test('optional client certificate: absent → no vars; present → DER, one-line subject; PEM only with --https-export-cert', async () => {
  const n = await uwsgiNode(answer('ok'));
  const r = await startRouter([...httpsArg(`,,${ca.crt}`), '--http-to', n.address], false);
  const without = await tlsExchange(r.port, ['GET / HTTP/1.0\r\n\r\n']);
  assert.equal(bodyOf(without.text), 'ok', without.error ?? '');
  const withCert = await tlsExchange(r.port, ['GET / HTTP/1.0\r\n\r\n'], { withCert: true });
  assert.equal(bodyOf(withCert.text), 'ok', withCert.error ?? '');
  const [a, b] = n.requests;
  for (const k of ['HTTPS_CLIENT_CERTIFICATE', 'HTTPS_DN', 'HTTPS_CC']) assert.equal(a.vars.has(k), false, k);
  const der = new X509Certificate(readFileSync(person.crt)).raw;
  assert.deepEqual(Buffer.from(b.vars.get('HTTPS_CLIENT_CERTIFICATE') ?? '', 'latin1'), der);
  assert.equal(b.vars.get('HTTPS_DN'), '/CN=https client');
  assert.equal(b.vars.has('HTTPS_CC'), false);
  // uWSGI's order: HTTPS, the certificate, its subject, then the client's address
  const at = b.order.indexOf('HTTPS');
  assert.deepEqual(b.order.slice(at, at + 4), [
    'HTTPS',
    'HTTPS_CLIENT_CERTIFICATE',
    'HTTPS_DN',
    'REMOTE_ADDR',
  ]);

  const exported = await startRouter(
    [...httpsArg(`,,${ca.crt}`), '--http-to', n.address, '--https-export-cert'],
    false,
  );
  const pem = await tlsExchange(exported.port, ['GET / HTTP/1.0\r\n\r\n'], { withCert: true });
  assert.equal(bodyOf(pem.text), 'ok');
  const c = n.requests[2];
  assert.equal(c.vars.get('HTTPS_CC'), new X509Certificate(readFileSync(person.crt)).toString());
  assert.match(
    c.vars.get('HTTPS_CC') ?? '',
    /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/,
  );
  assert.deepEqual(c.order.slice(c.order.indexOf('HTTPS'), c.order.indexOf('REMOTE_ADDR')), [
    'HTTPS',
    'HTTPS_CLIENT_CERTIFICATE',
    'HTTPS_DN',
    'HTTPS_CC',
  ]);
  await noSessionsLeft(r);
  await noSessionsLeft(exported);
});

test('required client certificate ("!"): without one the handshake is refused and no node is asked', async () => {
  const n = await uwsgiNode(answer('ok'));
  const r = await startRouter([...httpsArg(`,,!${ca.crt}`), '--http-to', n.address], false);
  const refused = await tlsExchange(r.port, ['GET / HTTP/1.0\r\n\r\n']);
  assert.equal(refused.text, '');
  assert.notEqual(refused.error, null);
  const ok = await tlsExchange(r.port, ['GET / HTTP/1.0\r\n\r\n'], { withCert: true });
  assert.equal(bodyOf(ok.text), 'ok');
  assert.equal(n.requests.length, 1);
  assert.equal(n.requests[0].vars.get('HTTPS_DN'), '/CN=https client');
  await noSessionsLeft(r);
});

test('an HTTP node behind an HTTPS listener gets X-Forwarded-Proto: https (a client-sent one is dropped)', async () => {
  const seen: IncomingHttpHeaders[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('content-length', 2);
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const r = await startRouter([...httpsArg(), '--http-to', `http://127.0.0.1:${port}`], false);
  const res = await tlsExchange(r.port, [
    'GET / HTTP/1.1\r\nHost: site.example\r\nX-Forwarded-Proto: http\r\nConnection: close\r\n\r\n',
  ]);
  assert.equal(bodyOf(res.text), 'ok');
  assert.equal(seen[0]['x-forwarded-proto'], 'https');
  assert.equal(seen[0]['x-forwarded-host'], 'site.example');
  await noSessionsLeft(r);
});

/**
 * A TCP relay to `port` that records what the server sends; `records()` = the TLS record
 * content types in it (21 = alert: with TLS 1.2 an alert after the handshake is the close_notify).
 */
async function recordingRelay(port: number): Promise<{ port: number; records(): number[] }> {
  const fromServer: Buffer[] = [];
  const server = createNetServer((client) => {
    const up = netConnect(port, '127.0.0.1');
    up.on('data', (d: Buffer) => fromServer.push(d));
    client.pipe(up).pipe(client);
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    up.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    server.close();
  });
  return {
    port: (server.address() as { port: number }).port,
    records: () => {
      const all = Buffer.concat(fromServer);
      const types: number[] = [];
      for (let p = 0; p + 5 <= all.length; p += 5 + all.readUInt16BE(p + 3)) types.push(all[p]);
      return types;
    },
  };
}

test('the connection ends with a TLS close_notify after the last response (spec §9)', async () => {
  const n = await uwsgiNode(answer('ok'));
  const r = await startRouter([...httpsArg(), '--http-to', n.address], false);
  const relay = await recordingRelay(r.port);
  // TLS 1.2: the alert's record type is visible (TLS 1.3 hides it inside application data)
  const res = await tlsExchange(relay.port, ['GET / HTTP/1.1\r\nHost: site.example\r\n\r\n'], {
    maxVersion: 'TLSv1.2',
  });
  assert.equal(bodyOf(res.text), 'ok');
  assert.equal(res.error, null);
  const types = relay.records();
  assert.equal(types.at(-1), 21, `the last record is an alert: ${types.join(',')}`);
  assert.equal(types.at(-2), 23, 'after the response (application data)');
  await noSessionsLeft(r);
});

test('plain HTTP sent to the HTTPS port gets a 400 that says so; no node is asked', async () => {
  const n = await uwsgiNode(answer('ok'));
  const r = await startRouter([...httpsArg(), '--http-to', n.address], false);
  const res = await rawExchange(r.port, 'GET / HTTP/1.1\r\nHost: site.example\r\n\r\n');
  assert.match(res, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(bodyOf(res), /this port speaks HTTPS/);
  assert.equal(n.requests.length, 0);
  await noSessionsLeft(r);
});

test('over --http-max-connections: a plain client gets the 503, a TLS client a close (never plaintext bytes)', async () => {
  const r = await startRouter(
    ['--http', '127.0.0.1:0', ...httpsArg(), '--http-to', '127.0.0.1:1', '--http-max-connections', '1'],
    false,
  );
  const [plainPort, tlsPort] = r.ports;
  const held = await RawClient.open(plainPort);
  await waitFor(() => r.router.activeSessions === 1);
  const plain = await rawExchange(plainPort, 'GET / HTTP/1.0\r\n\r\n');
  assert.match(plain, /^HTTP\/1\.1 503 /);
  const tls = await tlsExchange(tlsPort, ['GET / HTTP/1.0\r\n\r\n']);
  assert.equal(tls.text, '');
  // a plaintext 503 would reach the TLS client as a record it cannot parse
  assert.doesNotMatch(tls.error ?? '', /wrong version number|packet length too long/i);
  assert.notEqual(tls.error, null);
  held.socket.destroy();
  await noSessionsLeft(r);
});

test('inline PEM in --https is accepted with --ssl-tmp-dir (as in uWSGI) and refused without it', async () => {
  const n = await uwsgiNode(answer('ok'));
  const pem = `127.0.0.1:0,${readFileSync(site.crt, 'latin1')},${readFileSync(site.key, 'latin1')}`;
  const r = await startRouter(['--https', pem, '--ssl-tmp-dir', certs.dir, '--http-to', n.address], false);
  const res = await tlsExchange(r.port, ['GET / HTTP/1.0\r\n\r\n']);
  assert.equal(bodyOf(res.text), 'ok', res.error ?? '');
  await assert.rejects(
    startRouter(['--https', pem, '--http-to', n.address], false),
    /inline PEM is only accepted with --ssl-tmp-dir/,
  );
  await noSessionsLeft(r);
});
