/**
 * The TLS front (src/tls/tls-front.ts) against real node:tls clients and raw bytes: what is
 * handed over, what bad input costs (one close, one counter, one log line), the handshake
 * deadline, the cap on handshakes in progress, splits of the ClientHello at every byte.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  FAILURE_LINES_PER_SECOND,
  LogLineBudget,
  TlsFrontStats,
  tlsStatsSection,
} from '../../src/tls/tls-front-stats.ts';
import { encodeClientHello } from '../protocol/tls-hello-encoder.ts';
import { rawExchange, rawHold, splittingRelay, startFront, waitUntil } from './front-kit.ts';
import { makeRegistry } from './registry-harness.ts';
import { TestCerts } from './test-certs.ts';
import { tlsClient } from './tls-server-harness.ts';

const certs = new TestCerts('front');
const ca = certs.ca();
const leaf = certs.leaf(ca, 'front.example', { names: ['127.0.0.1'] });
const clientLeaf = certs.leaf(ca, 'client one', { client: true });
const LISTEN = `127.0.0.1:0,${leaf.crt},${leaf.key}`;
const caPem = readFileSync(ca.crt);

/** A real ClientHello (openssl s_client, TLS 1.3, SNI and ALPN) from the captures. */
const REAL_HELLO = Buffer.from(
  readFileSync(
    join(import.meta.dirname, '..', 'fixtures', 'tls', 'openssl-tls13-sni-alpn.hex'),
    'utf8',
  ).replace(/\s+/g, ''),
  'hex',
);

test('a handshake is handed over with its hello; the counters follow', async () => {
  const f = await startFront({ listen: LISTEN });
  const r = await tlsClient(f.port, { servername: 'front.example', ca: caPem, rejectUnauthorized: true });
  assert.equal(r.ok, true, r.error);
  assert.equal(r.line, 'hello front.example');
  assert.equal(f.secured.length, 1);
  assert.equal(f.secured[0].hello.serverName, 'front.example');
  assert.equal(f.secured[0].choice.source, 'listener');
  assert.equal(f.secured[0].clientCertificate, false);
  assert.equal(f.stats.handshakes, 1);
  assert.deepEqual(Object.fromEntries(f.stats.versions), { 'TLSv1.3': 1 });
  assert.equal(f.stats.sniMisses, 1, 'a name was sent and no SNI certificate matched it');
  assert.equal(f.front.inProgress, 0);
  assert.equal(f.stats.inProgress, 0);
  assert.deepEqual(f.lines, []);
});

test('garbage, plain HTTP and SSLv2 instead of a hello: closed unread by OpenSSL, counted, one line each', async () => {
  const answer = Buffer.from('HTTP/1.0 400 Bad Request\r\n\r\nthis port speaks TLS\n');
  const f = await startFront({ listen: LISTEN, plainHttpAnswer: answer });
  const garbage = await rawExchange(f.port, Buffer.from('\x00\x01\x02 not a hello at all'));
  assert.equal(garbage.received.length, 0);
  assert.ok(garbage.closedAfterMs < 1000, `closed at once (${garbage.closedAfterMs} ms)`);
  const http = await rawExchange(f.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal(http.received.toString(), answer.toString(), 'the plain-HTTP answer, then the close');
  const sslv2 = await rawExchange(f.port, Buffer.from([0x80, 0x2e, 0x01, 0x00, 0x02]));
  assert.equal(sslv2.received.length, 0);
  assert.deepEqual(Object.fromEntries(f.stats.failures), {
    'not-tls': 1,
    'plaintext-http': 1,
    'sslv2-hello': 1,
  });
  assert.deepEqual(f.counted, ['UWR_ERR_NOT_TLS', 'UWR_ERR_NOT_TLS', 'UWR_ERR_NOT_TLS']);
  assert.equal(f.lines.length, 3);
  assert.match(
    f.lines[0],
    /^\[uwsgi-sslrouter client_addr: 127\.0\.0\.1 client_port: \d+\] TLS handshake failed: not a valid TLS ClientHello \(not-tls\): closing$/,
  );
  assert.match(f.lines[1], /TLS handshake failed: plain HTTP on a TLS port: closing$/);
  assert.equal(f.front.inProgress, 0);
  assert.equal(f.secured.length, 0);
});

test('a 300-byte server name: refused from the hello, before any TLS work', async () => {
  const f = await startFront({ listen: LISTEN });
  const hello = encodeClientHello({
    serverName: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(44)}`,
    supportedVersions: [0x0304],
  });
  assert.ok(hello.length > 300);
  const r = await rawExchange(f.port, hello);
  assert.equal(r.received.length, 0, 'no ServerHello: OpenSSL never saw it');
  assert.deepEqual(Object.fromEntries(f.stats.failures), { 'bad-server-name': 1 });
  assert.deepEqual(f.counted, ['UWR_ERR_TLS_HELLO']);
  assert.match(f.lines[0], /TLS handshake failed: not a valid TLS ClientHello \(bad-server-name\): closing$/);
});

test('a ClientHello split at every byte boundary still completes the handshake', async () => {
  const f = await startFront({ listen: LISTEN });
  // one byte at a time; the client offers one key share (a post-quantum share makes a
  // 1.5 KiB hello, and this test a slow one)
  const small = { ecdhCurve: 'P-256', servername: 'front.example', ca: caPem, rejectUnauthorized: true };
  const bytewise = await splittingRelay(f.port, (n) => Array.from({ length: n }, (_, i) => i + 1), 1);
  const r1 = await tlsClient(bytewise.port, small);
  assert.equal(r1.ok, true, r1.error);
  assert.equal(r1.line, 'hello front.example');
  // in two pieces, cut at each boundary of this client's hello in turn
  const helloLength = bytewise.firstFlights[0];
  assert.ok(helloLength > 200, `a whole hello came in one piece (${helloLength} bytes)`);
  let cut = 1;
  const twoPieces = await splittingRelay(f.port, () => [cut], 2);
  let done = 0;
  for (cut = 1; cut < helloLength; cut += 1) {
    const r = await tlsClient(twoPieces.port, small);
    assert.equal(r.ok, true, `cut at ${cut}: ${r.error}`);
    done++;
  }
  assert.equal(done, helloLength - 1);
  assert.ok(
    twoPieces.firstFlights.every((n) => n === helloLength),
    'every hello had the same length',
  );
  assert.equal(f.stats.handshakes, helloLength);
  assert.deepEqual(Object.fromEntries(f.stats.failures), {});
});

test('a hello that never completes: closed when the deadline passes, one line', async () => {
  const f = await startFront({ listen: LISTEN, handshakeTimeoutMs: 300 });
  const partial = await rawExchange(f.port, REAL_HELLO.subarray(0, 40), { timeoutMs: 5000 });
  assert.ok(partial.closedAfterMs >= 290, `closed after ${partial.closedAfterMs} ms`);
  assert.ok(partial.closedAfterMs < 2000, `closed after ${partial.closedAfterMs} ms`);
  // a whole hello, then silence: OpenSSL answers, the client never finishes
  const silent = await rawExchange(f.port, REAL_HELLO, { timeoutMs: 5000 });
  assert.ok(silent.received.length > 0, 'the ServerHello came');
  assert.ok(silent.closedAfterMs >= 290 && silent.closedAfterMs < 2000, `${silent.closedAfterMs} ms`);
  assert.deepEqual(Object.fromEntries(f.stats.failures), { timeout: 2 });
  assert.deepEqual(f.counted, ['UWR_ERR_TLS_HANDSHAKE_TIMEOUT', 'UWR_ERR_TLS_HANDSHAKE_TIMEOUT']);
  assert.match(
    f.lines[0],
    /TLS handshake failed: no complete ClientHello within 300 ms \(--ssl-handshake-timeout\): closing$/,
  );
  assert.match(f.lines[1], /TLS handshake failed: no complete handshake within 300 ms/);
  assert.equal(f.front.inProgress, 0);
});

test('the cap: past --ssl-max-handshakes in progress, the oldest handshake is closed for the new one', async () => {
  // refusing new connections instead would let ~100 stalled handshakes a second (cap / deadline)
  // lock every real client out; evicting the oldest makes an attacker outpace real handshakes,
  // which finish in milliseconds
  const f = await startFront({ listen: LISTEN, maxHandshakes: 3, handshakeTimeoutMs: 60_000 });
  const held = [
    await rawHold(f.port, REAL_HELLO.subarray(0, 10)),
    await rawHold(f.port, REAL_HELLO),
    await rawHold(f.port, null),
  ];
  await waitUntil(() => f.front.inProgress === 3, 3000, '3 handshakes in progress');
  // read what the server sends (held[1] gets its ServerHello), so a close reaches 'close'
  for (const h of held) h.resume();
  const closedFirst = new Promise<void>((resolve) => held[0].once('close', () => resolve()));
  const client = await tlsClient(f.port, {
    servername: 'front.example',
    ca: caPem,
    rejectUnauthorized: true,
  });
  assert.equal(client.ok, true, `a real client is served while the cap is reached: ${client.error}`);
  await closedFirst;
  assert.equal(held[1].destroyed || held[2].destroyed, false, 'only the oldest was closed');
  assert.equal(f.stats.evictedBusy, 1);
  assert.deepEqual(f.counted, ['UWR_ERR_TLS_BUSY']);
  assert.match(
    f.lines[0],
    /3 TLS handshakes already in progress on 127\.0\.0\.1:0 \(--ssl-max-handshakes\): closing the oldest, started \d+ ms ago$/,
  );
  // full again: the next newcomer evicts the next oldest (held[1]), not the newer held[2]
  held.push((await rawHold(f.port, null)).resume());
  await waitUntil(() => f.front.inProgress === 3, 3000, '3 handshakes in progress again');
  const closedSecond = new Promise<void>((resolve) => held[1].once('close', () => resolve()));
  const again = await tlsClient(f.port, { servername: 'front.example', ca: caPem, rejectUnauthorized: true });
  assert.equal(again.ok, true, again.error);
  await closedSecond;
  assert.equal(held[2].destroyed || held[3].destroyed, false, 'the newer ones stay');
  assert.equal(f.stats.evictedBusy, 2);
  for (const h of held) h.destroy();
  await waitUntil(() => f.front.inProgress === 0, 3000, 'all settled');
});

test('connections that send nothing are counted, not logged; a partial hello then a close is logged', async () => {
  const f = await startFront({ listen: LISTEN });
  await rawExchange(f.port, null, { end: true });
  await rawExchange(f.port, REAL_HELLO.subarray(0, 20), { end: true });
  assert.deepEqual(Object.fromEntries(f.stats.failures), { 'closed-before-hello': 1, 'client-closed': 1 });
  assert.equal(f.lines.length, 1);
  assert.match(f.lines[0], /the client closed inside its ClientHello: closing$/);
  assert.equal(f.front.inProgress, 0);
});

test('OpenSSL refusals: TLS 1.0 and 1.1 clients, no shared cipher; reasons from OpenSSL codes', async () => {
  const f = await startFront({ listen: LISTEN });
  const tls10 = await tlsClient(f.port, {
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1',
    ciphers: 'DEFAULT:@SECLEVEL=0',
  });
  assert.equal(tls10.ok, false);
  const tls11 = await tlsClient(f.port, {
    minVersion: 'TLSv1.1',
    maxVersion: 'TLSv1.1',
    ciphers: 'DEFAULT:@SECLEVEL=0',
  });
  assert.equal(tls11.ok, false);
  const cbcOnly = await tlsClient(f.port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' });
  assert.equal(cbcOnly.ok, false);
  await waitUntil(() => f.front.inProgress === 0, 3000, 'settled');
  assert.deepEqual(Object.fromEntries(f.stats.failures), {
    'unsupported-protocol': 2,
    'no-shared-cipher': 1,
  });
  assert.deepEqual(f.counted, ['UWR_ERR_TLS_HANDSHAKE', 'UWR_ERR_TLS_HANDSHAKE', 'UWR_ERR_TLS_HANDSHAKE']);
  assert.match(f.lines[0], /TLS handshake failed: unsupported protocol: closing$/);
  assert.match(f.lines[2], /TLS handshake failed: no shared cipher: closing$/);
});

test('client certificates: required (CLIENT_CA with "!") and optional', async () => {
  const required = await startFront({ listen: `${LISTEN},,!${ca.crt}` });
  const none = await tlsClient(required.port, { servername: 'front.example', ca: caPem });
  assert.equal(none.ok && none.line !== '', false, 'no certificate: no answer');
  const withCert = await tlsClient(required.port, {
    servername: 'front.example',
    ca: caPem,
    cert: readFileSync(clientLeaf.crt),
    key: readFileSync(clientLeaf.key),
  });
  assert.equal(withCert.line, 'hello front.example');
  assert.equal(required.secured.at(-1)?.clientCertificate, true);
  assert.equal(required.stats.clientCertificates, 1);
  const optional = await startFront({ listen: `${LISTEN},,${ca.crt}` });
  const anon = await tlsClient(optional.port, { servername: 'front.example', ca: caPem });
  assert.equal(anon.line, 'hello front.example', 'optional: no certificate is fine');
  const foreign = new TestCerts('front-foreign');
  const otherCa = foreign.ca('another CA');
  const stranger = foreign.leaf(otherCa, 'stranger', { client: true });
  const refused = await tlsClient(optional.port, {
    servername: 'front.example',
    ca: caPem,
    cert: readFileSync(stranger.crt),
    key: readFileSync(stranger.key),
  });
  assert.equal(refused.line, '', 'a certificate that does not verify is refused');
  await waitUntil(() => optional.front.inProgress === 0, 3000, 'settled');
  assert.deepEqual(Object.fromEntries(optional.stats.failures), { 'client-certificate': 1 });
  assert.match(
    optional.lines.at(-1) ?? '',
    /TLS handshake failed: client certificate not verified: .*: closing$/,
  );
});

test('failure lines are bounded: 20 a second, then one note of how many were held back', () => {
  const budget = new LogLineBudget();
  let allowed = 0;
  for (let i = 0; i < 25; i++) if (budget.allow(5_000_100)) allowed++;
  assert.equal(allowed, FAILURE_LINES_PER_SECOND);
  assert.equal(budget.suppressed, 5);
  assert.equal(budget.allow(5_000_999), false, 'still the same second');
  assert.equal(budget.allow(5_001_000), true, 'a new second');
  assert.equal(budget.takeSuppressed(), ' (6 more TLS handshake failure lines suppressed before this one)');
  assert.equal(budget.takeSuppressed(), '');
});

test('the stats section: handshakes, failures by reason, SNI misses, the context store', async () => {
  const { registry, store } = makeRegistry({ sni: [`named.example ${leaf.crt},${leaf.key}`] });
  const stats = new TlsFrontStats();
  const f = await startFront({ listen: LISTEN, registry, stats });
  assert.equal((await tlsClient(f.port, { servername: 'named.example' })).line, 'hello named.example');
  assert.equal((await tlsClient(f.port, { servername: 'other.example' })).line, 'hello other.example');
  assert.equal((await tlsClient(f.port, {})).line, 'hello -', 'no SNI: not a miss');
  await rawExchange(f.port, Buffer.from('garbage!'));
  const section = tlsStatsSection(stats, store, registry);
  assert.equal(section.statsName, 'tls');
  assert.deepEqual(section.statsJson(), {
    handshakes: 3,
    handshakes_in_progress: 0,
    handshakes_evicted_busy: 0,
    handshake_failures: { 'not-tls': 1 },
    versions: { 'TLSv1.3': 3 },
    client_certificates: 0,
    resumed: 0,
    sni_misses: 1,
    contexts: 1,
    contexts_bytes: store.bytes,
    contexts_max: 1000,
    context_builds: 1,
    context_evictions: 0,
    sni_names: { static: 1, regexps: 0, subscriptions: 0, dir: 0 },
    subscription_certificates_refused: 0,
  });
  assert.ok(store.bytes > 20_000, `the one context counted (${store.bytes} bytes)`);
});

test('a client that resets mid-handshake is logged with its address (read at accept, not after the close)', async () => {
  const f = await startFront({ listen: LISTEN });
  const s = await rawHold(f.port, REAL_HELLO);
  await waitUntil(() => f.front.inProgress === 1, 3000, 'the handshake started');
  // wait for the ServerHello, so OpenSSL is mid-handshake when the reset comes
  await new Promise<void>((r) => s.once('data', () => r()));
  s.resetAndDestroy();
  await waitUntil(() => f.front.inProgress === 0, 3000, 'settled');
  assert.equal(f.lines.length, 1, f.lines.join('\n'));
  assert.match(
    f.lines[0],
    /^\[uwsgi-sslrouter client_addr: 127\.0\.0\.1 client_port: [1-9]\d*\] TLS handshake failed: /,
  );
});
