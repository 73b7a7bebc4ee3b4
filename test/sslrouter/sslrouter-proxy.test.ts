/**
 * What nodes learn behind the sslrouter (uwrouter extensions): PROXY protocol v1/v2 headers
 * naming the client, v2 with the TLS facts as TLVs (HAProxy's proxy-protocol.txt §2.2); PROXY
 * headers from a trusted front before the handshake; and the stats document.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { PP2_TYPE_AUTHORITY, PP2_TYPE_SSL } from '../../src/protocol/proxy-protocol.ts';
import { ProxyHeaderReader } from '../../src/protocol/proxy-protocol-reader.ts';
import { node, waitFor } from '../rawrouter/raw-peers.ts';
import { ca, caPem, certs, ownListen, startSsl, tlsTalk } from './ssl-peers.ts';

const clientLeaf = certs.leaf(ca, 'client two', { client: true });

/** Sub-TLVs of a PP2_TYPE_SSL value, after its 5-byte client/verify head (spec §2.2.5). */
function sslSubTlvs(value: Buffer): Map<number, string> {
  const out = new Map<number, string>();
  for (let p = 5; p + 3 <= value.length; ) {
    const len = value.readUInt16BE(p + 1);
    out.set(value[p], value.subarray(p + 3, p + 3 + len).toString('utf8'));
    p += 3 + len;
  }
  return out;
}

/** A silent node behind an sslrouter that sends it a PROXY v1 line, with `extra` options. */
async function behindProxyV1(extra: string[] = []) {
  const n = await node({ echo: false });
  const r = await startSsl([
    '--sslrouter',
    ownListen(),
    '--sslrouter-to',
    n.address,
    '--sslrouter-proxy-protocol',
    '1',
    ...extra,
  ]);
  return { n, r };
}

test('--sslrouter-proxy-protocol 1: the node reads a v1 line naming the client, then the plaintext', async () => {
  const { n, r } = await behindProxyV1();
  const t = await tlsTalk(r.port);
  t.socket.write('after the header');
  await waitFor(() => n.conns[0]?.received.includes('after the header'), 3000, 'data at the node');
  assert.equal(
    n.conns[0].received.toString('latin1'),
    `PROXY TCP4 127.0.0.1 127.0.0.1 ${t.socket.localPort} ${r.port}\r\nafter the header`,
  );
});

test('--sslrouter-proxy-protocol 2: v2 with AUTHORITY (SNI) and SSL (version, cipher, client CN) TLVs', async () => {
  const n = await node({ echo: false });
  const r = await startSsl([
    '--sslrouter',
    ownListen('127.0.0.1:0', `,,${ca.crt}`),
    '--sslrouter-to',
    n.address,
    '--sslrouter-proxy-protocol',
    '2',
  ]);
  const decode = async (i: number) => {
    await waitFor(() => (n.conns[i]?.received.length ?? 0) > 16, 3000, 'a header');
    const res = new ProxyHeaderReader().push(n.conns[i].received);
    assert.equal(res.state, 'done');
    return res.state === 'done' ? res : null;
  };
  const anon = await tlsTalk(r.port, { servername: 'sni.example' });
  anon.socket.write('x');
  const a = (await decode(0))!;
  assert.equal(a.header.version, 2);
  assert.equal(a.header.srcAddress, '127.0.0.1');
  assert.equal(a.header.srcPort, anon.socket.localPort);
  assert.equal(a.header.dstPort, r.port);
  assert.deepEqual(
    a.header.tlvs.map((t) => t.type),
    [PP2_TYPE_AUTHORITY, PP2_TYPE_SSL],
  );
  assert.equal(a.header.tlvs[0].value.toString(), 'sni.example');
  const ssl = a.header.tlvs[1].value;
  assert.equal(ssl[0], 0x01, 'client: PP2_CLIENT_SSL only (no certificate)');
  assert.equal(ssl.readUInt32BE(1), 1, 'verify: non-zero without a verified certificate');
  const subs = sslSubTlvs(ssl);
  assert.equal(subs.get(0x21), anon.socket.getProtocol(), 'PP2_SUBTYPE_SSL_VERSION as the client saw it');
  assert.equal(subs.get(0x23), anon.socket.getCipher().name, 'PP2_SUBTYPE_SSL_CIPHER as the client saw it');
  assert.equal(subs.has(0x22), false);
  assert.equal(a.rest.toString(), 'x');
  // with a client certificate, and no server name
  const withCert = await tlsTalk(r.port, {
    cert: readFileSync(clientLeaf.crt),
    key: readFileSync(clientLeaf.key),
    maxVersion: 'TLSv1.2',
  });
  withCert.socket.write('y');
  const b = (await decode(1))!;
  assert.deepEqual(
    b.header.tlvs.map((t) => t.type),
    [PP2_TYPE_SSL],
  );
  const ssl2 = b.header.tlvs[0].value;
  assert.equal(ssl2[0], 0x07, 'SSL | CERT_CONN | CERT_SESS');
  assert.equal(ssl2.readUInt32BE(1), 0, 'verify: 0 = verified');
  const subs2 = sslSubTlvs(ssl2);
  assert.equal(subs2.get(0x21), 'TLSv1.2');
  assert.equal(subs2.get(0x22), 'client two');
  assert.equal(subs2.get(0x23), withCert.socket.getCipher().name);
});

test('PROXY headers from a trusted front come before the handshake; the node learns their source', async () => {
  const { n, r } = await behindProxyV1([
    '--sslrouter-enable-proxy-protocol',
    '--sslrouter-trusted-proxy',
    '127.0.0.1',
  ]);
  const raw = connect({ port: r.port, host: '127.0.0.1' });
  await once(raw, 'connect');
  raw.write('PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\n');
  const t = tlsConnect({ socket: raw, ca: caPem, servername: 'ssl.example' });
  t.on('error', () => {});
  await once(t, 'secureConnect');
  t.write('hello');
  await waitFor(() => n.conns[0]?.received.includes('hello'), 3000, 'data at the node');
  assert.equal(n.conns[0].received.toString(), 'PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\nhello');
  t.destroy();
  // a trusted peer that skips its header: closed, one line, counted
  const bare = await tlsTalk(r.port).catch((e: Error) => e.message);
  assert.equal(typeof bare, 'string', 'no handshake without the header');
  await waitFor(() => r.lines.some((l) => /bad PROXY protocol header/.test(l)), 3000, 'the log line');
  assert.equal((r.stats().uwrouter as { counters: Record<string, number> }).counters.UWR_ERR_PROXY_HEADER, 1);
});

test('stats: the sockets under "sslrouter", the tls section, error counters', async () => {
  const n = await node();
  const r = await startSsl(['--sslrouter', ownListen(), '--sslrouter-to', n.address]);
  const t = await tlsTalk(r.port, { servername: 'ssl.example' });
  t.socket.end('x');
  await t.closed;
  const junk = connect({ port: r.port, host: '127.0.0.1' });
  junk.on('error', () => {});
  junk.end('GET / HTTP/1.0\r\n\r\n');
  await once(junk, 'close');
  const doc = r.stats();
  assert.deepEqual(doc.sslrouter, [`127.0.0.1:${r.port}`]);
  const tls = doc.tls as Record<string, unknown>;
  assert.equal(tls.handshakes, 1);
  assert.deepEqual(tls.handshake_failures, { 'plaintext-http': 1 });
  assert.deepEqual(tls.versions, { 'TLSv1.3': 1 });
  assert.equal(tls.handshakes_in_progress, 0);
  assert.deepEqual((doc.uwrouter as { counters: Record<string, number> }).counters, { UWR_ERR_NOT_TLS: 1 });
  assert.deepEqual(
    (doc.static_nodes as Array<{ name: string; hits: number }>).map((s) => [s.name, s.hits]),
    [[n.address, 1]],
  );
});
