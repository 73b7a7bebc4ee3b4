/**
 * Real handshakes (node:tls clients → a node:tls server on 127.0.0.1 built from src/tls)
 * proving which certificate each client is served and what the secure defaults refuse.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ListenerTls } from '../../src/tls/listener-tls.ts';
import type { SniRegistry } from '../../src/tls/sni-registry.ts';
import { parseTlsListen } from '../../src/tls/tls-option-specs.ts';
import { DEFAULT_TLS_SETTINGS, type TlsSettings } from '../../src/tls/tls-settings.ts';
import { captureLogger, makeRegistry } from './registry-harness.ts';
import { type CertFiles, fingerprint, TestCerts } from './test-certs.ts';
import { startTlsTestServer, type TlsTestServer, tlsClient } from './tls-server-harness.ts';

const certs = new TestCerts('handshake');
const ca = certs.ca();
const dflt = certs.leaf(ca, 'default.example', { names: ['127.0.0.1'] });
const a = certs.leaf(ca, 'a.example');
const b = certs.leaf(ca, 'b.example');
const c = certs.leaf(ca, 'c.example');
const shop = certs.leaf(ca, 'shop.example', { names: ['shop1.example', 'shop2.example'] });
const dualEc = certs.leaf(ca, 'dual.example');
const dualRsa = certs.leaf(ca, 'dual.example', { kind: 'rsa' });
const caPem = readFileSync(ca.crt);

const servers: TlsTestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

function listen(
  registry: SniRegistry | null,
  value = `127.0.0.1:0,${dflt.crt},${dflt.key}`,
  settings: TlsSettings = DEFAULT_TLS_SETTINGS,
): ListenerTls {
  return ListenerTls.create(parseTlsListen('https', value, false), {
    settings,
    registry,
    sessionIdContext: 'http-127.0.0.1:0',
    log: captureLogger().log,
  });
}

async function serve(listener: ListenerTls, options: { holdOpen?: boolean } = {}): Promise<TlsTestServer> {
  const s = await startTlsTestServer(listener, options);
  servers.push(s);
  return s;
}

const sniValue = (name: string, f: CertFiles, extra = '') => `${name} ${f.crt},${f.key}${extra}`;

let main: TlsTestServer;
before(async () => {
  const dir = certs.path('sni-dir');
  mkdirSync(dir);
  for (const [suffix, f] of [
    ['', dualRsa],
    ['.ecdsa', dualEc],
  ] as const) {
    copyFileSync(f.crt, join(dir, `dirdual.example${suffix}.crt`));
    copyFileSync(f.key, join(dir, `dirdual.example${suffix}.key`));
  }
  const { registry } = makeRegistry({
    sniDir: dir,
    sni: [
      sniValue('a.example', a),
      sniValue('b.example', b),
      sniValue('c.example', c),
      sniValue('dual.example', dualRsa),
      sniValue('dual.example', dualEc),
    ],
    sniRegexp: [sniValue('^shop[0-9]+\\.example$', shop)],
  });
  main = await serve(listen(registry));
});

test('three names, a regexp and the default each get their own certificate (verified by the client)', async () => {
  const cases: Array<[string | undefined, CertFiles, string]> = [
    ['a.example', a, 'sni a.example'],
    ['b.example', b, 'sni b.example'],
    ['c.example', c, 'sni c.example'],
    ['shop2.example', shop, 'sni-regexp ^shop[0-9]+\\.example$'],
    ['unknown.example', dflt, 'listener 127.0.0.1:0'],
    [undefined, dflt, 'listener 127.0.0.1:0'],
  ];
  for (const [servername, files, chose] of cases) {
    const r = await tlsClient(main.port, {
      ...(servername ? { servername } : {}),
      ca: caPem,
      rejectUnauthorized: servername !== 'unknown.example',
    });
    assert.ok(r.ok, `${servername}: ${r.error}`);
    assert.equal(r.fingerprint, fingerprint(files.crt), String(servername));
    assert.equal(r.line, chose);
    assert.equal(r.protocol, 'TLSv1.3', 'TLS 1.3 is on');
  }
});

test('an RSA and an ECDSA certificate for one name: the client capabilities pick', async () => {
  for (const name of ['dual.example', 'dirdual.example']) {
    const modern = await tlsClient(main.port, { servername: name, ca: caPem });
    assert.equal(modern.keyType, 'ec', `${name}: ECDSA for a client that can`);
    assert.equal(modern.fingerprint, fingerprint(dualEc.crt));
    const rsaOnly13 = await tlsClient(main.port, {
      servername: name,
      sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256',
    });
    assert.equal(rsaOnly13.keyType, 'rsa', `${name}: RSA for a TLS 1.3 client without ECDSA signatures`);
    assert.equal(rsaOnly13.fingerprint, fingerprint(dualRsa.crt));
    const rsaOnly12 = await tlsClient(main.port, {
      servername: name,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
    });
    assert.equal(rsaOnly12.keyType, 'rsa', `${name}: RSA for a TLS 1.2 client with only RSA suites`);
    assert.equal(rsaOnly12.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
  }
});

test('a resumed TLS 1.2 session still gets its name’s certificate (Node says servername false)', async () => {
  const first = await tlsClient(main.port, { servername: 'b.example', maxVersion: 'TLSv1.2' });
  assert.ok(first.session, 'a session to resume');
  const again = await tlsClient(main.port, {
    servername: 'b.example',
    maxVersion: 'TLSv1.2',
    session: first.session,
  });
  assert.equal(again.reused, true);
  assert.equal(again.line, 'sni b.example');
  assert.equal(main.events.at(-1)?.nodeServername, false, 'why the ClientHello is read by hand');
});

test('secure defaults: no TLS 1.1 or 1.0, no CBC or RSA key exchange, the server order wins, no renegotiation', async () => {
  const tls11 = await tlsClient(main.port, {
    minVersion: 'TLSv1.1',
    maxVersion: 'TLSv1.1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  });
  assert.match(tls11.error ?? '', /alert protocol version/, 'refused for the version (alert 70)');
  const tls10 = await tlsClient(main.port, {
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  });
  assert.match(tls10.error ?? '', /alert protocol version/, 'refused for the version (alert 70)');
  for (const ciphers of [
    'ECDHE-ECDSA-AES128-SHA256',
    'ECDHE-ECDSA-AES128-SHA',
    'AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES128-CCM',
  ]) {
    const r = await tlsClient(main.port, { maxVersion: 'TLSv1.2', ciphers });
    assert.equal(r.ok, false, `${ciphers} must be refused`);
  }
  const order = await tlsClient(main.port, {
    maxVersion: 'TLSv1.2',
    ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256',
  });
  assert.equal(order.cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256', 'the server’s first choice');
  // renegotiation: the client asks, the server refuses (a server that keeps the connection open)
  const open = await serve(listen(null), { holdOpen: true });
  const refused = await new Promise<string>((resolve) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port: open.port,
      maxVersion: 'TLSv1.2',
      rejectUnauthorized: false,
    });
    s.once('data', () => {
      s.renegotiate({}, (err) => {
        resolve(err ? `error: ${err.message}` : 'renegotiated');
        s.destroy();
      });
    });
    s.on('error', (e: Error) => {
      resolve(`error: ${e.message}`);
      s.destroy();
    });
    s.on('close', () => resolve('closed without an answer'));
  });
  assert.match(refused, /^error: .*no renegotiation/);
});

test('--ssl-enable-tlsv1 lets TLS 1.0 clients in; a CIPHERS list without TLS 1.3 suites keeps TLS 1.3', async () => {
  const legacy = await serve(
    listen(null, `127.0.0.1:0,${dflt.crt},${dflt.key}`, { ...DEFAULT_TLS_SETTINGS, minVersion: 'TLSv1' }),
  );
  const tls10 = await tlsClient(legacy.port, {
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  });
  assert.equal(tls10.ok, true, tls10.error);
  assert.equal(tls10.protocol, 'TLSv1');
  const custom = await serve(
    listen(null, `127.0.0.1:0,${dflt.crt},${dflt.key},ECDHE-ECDSA-AES256-GCM-SHA384`),
  );
  const r13 = await tlsClient(custom.port, {});
  assert.equal(r13.protocol, 'TLSv1.3');
  const r12 = await tlsClient(custom.port, { maxVersion: 'TLSv1.2' });
  assert.equal(r12.cipher, 'ECDHE-ECDSA-AES256-GCM-SHA384', 'only the CIPHERS given');
});

test('client certificates: optional, required, foreign CA, verify depth', async () => {
  const other = certs.ca('other CA');
  const inter = certs.intermediate(ca);
  const client = certs.leaf(ca, 'client1', { client: true });
  const foreign = certs.leaf(other, 'client2', { client: true });
  const deep = certs.leaf(inter, 'client3', { client: true, withChain: true });
  const withCert = (f: CertFiles) => ({ cert: readFileSync(f.crt), key: readFileSync(f.key) });

  const optional = await serve(listen(null, `127.0.0.1:0,${dflt.crt},${dflt.key},,${ca.crt}`));
  assert.equal((await tlsClient(optional.port, {})).line, 'listener 127.0.0.1:0', 'no certificate is fine');
  assert.equal(optional.events.at(-1)?.verdict, 'ok');
  assert.equal((await tlsClient(optional.port, withCert(client))).line, 'listener 127.0.0.1:0');
  assert.equal(optional.events.at(-1)?.verdict, 'ok cert');
  assert.equal(
    (await tlsClient(optional.port, withCert(foreign))).line,
    '',
    'a certificate that does not verify',
  );
  assert.match(optional.events.at(-1)?.verdict ?? '', /client certificate not verified/);

  const required = await serve(listen(null, `127.0.0.1:0,${dflt.crt},${dflt.key},,!${ca.crt}`));
  const none = await tlsClient(required.port, {});
  assert.equal(none.line, '');
  assert.notEqual(required.events.at(-1)?.verdict, 'ok');
  assert.equal((await tlsClient(required.port, withCert(client))).line, 'listener 127.0.0.1:0');
  assert.equal((await tlsClient(required.port, withCert(foreign))).line, '', 'required and foreign');
  assert.match(
    required.events.at(-1)?.verdict ?? '',
    /client certificate not verified: UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
  );

  // leaf ← intermediate ← CA: one intermediate; depth 1 (the default) takes it, depth 0 does not
  assert.equal((await tlsClient(required.port, withCert(deep))).line, 'listener 127.0.0.1:0');
  assert.equal(required.events.at(-1)?.verdict, 'ok cert');
  const shallow = await serve(
    listen(null, `127.0.0.1:0,${dflt.crt},${dflt.key},,!${ca.crt}`, {
      ...DEFAULT_TLS_SETTINGS,
      verifyDepth: 0,
    }),
  );
  assert.equal((await tlsClient(shallow.port, withCert(client))).line, 'listener 127.0.0.1:0');
  assert.equal((await tlsClient(shallow.port, withCert(deep))).line, '');
  assert.match(shallow.events.at(-1)?.verdict ?? '', /1 intermediate CAs, more than --ssl-verify-depth 0/);
});

test('plain HTTP on the TLS port is recognised before any TLS work', async () => {
  const { connect } = await import('node:net');
  await new Promise<void>((resolve) => {
    const s = connect(main.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('close', () => resolve());
    s.on('error', () => {});
  });
  assert.equal(main.events.at(-1)?.chose, 'plaintext-http');
});
