import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientHello } from '../../src/protocol/tls-client-hello.ts';
import {
  ClientHelloReader,
  type ClientHelloReadResult,
  readClientHello,
} from '../../src/protocol/tls-client-hello-reader.ts';
import {
  encodeClientHello,
  extension,
  handshake,
  handshakeOf,
  helloBody,
  pskExtensionData,
  records,
  sniExtensionData,
} from './tls-hello-encoder.ts';
import { loadHelloVectors } from './tls-hello-vectors.ts';

const VECTORS = loadHelloVectors();

function done(r: ClientHelloReadResult): ClientHello {
  assert.equal(r.state, 'done', r.state === 'error' ? `error ${r.reason}` : r.state);
  if (r.state !== 'done') throw new Error('unreachable');
  return r.hello;
}

function reason(bytes: Buffer): string {
  const r = readClientHello(bytes);
  return r.state === 'error' ? `${r.code} ${r.reason}` : r.state;
}

/** Comparable view of a hello (Buffers as hex). */
function view(h: ClientHello) {
  return {
    ...h,
    sessionId: h.sessionId.toString('hex'),
    sessionTicket: h.sessionTicket === null ? null : h.sessionTicket.toString('hex'),
    pskIdentities: h.pskIdentities.map((b) => b.toString('hex')),
  };
}

test('the captures cover TLS 1.2 and 1.3, SNI, ALPN, a ticket and a PSK', () => {
  const names = VECTORS.map((v) => v.name);
  for (const n of [
    'openssl-tls13-sni-alpn',
    'openssl-tls12-mixed-case-sni',
    'openssl-tls13-no-sni',
    'openssl-tls13-psk',
    'openssl-tls12-ticket',
    'curl-http11',
    'curl-h2',
    'node-tls-connect',
  ]) {
    assert.ok(names.includes(n), n);
  }
  // the reference really holds what the vectors are about (guards the trace reader)
  const byName = new Map(VECTORS.map((v) => [v.name, v.expected]));
  assert.equal(byName.get('openssl-tls12-ticket')?.sessionTicket?.length, 352);
  assert.equal(byName.get('openssl-tls13-psk')?.firstPskIdentity?.length, 416);
  assert.deepEqual(byName.get('curl-h2')?.alpn, ['h2', 'http/1.1']);
  assert.ok(byName.get('node-tls-connect')?.signatureAlgorithms.includes(0x0403));
});

for (const v of VECTORS) {
  test(`${v.name}: decodes as OpenSSL decoded it`, () => {
    const r = readClientHello(v.bytes);
    const h = done(r);
    const e = v.expected;
    assert.equal(h.serverName, e.serverName);
    assert.deepEqual(h.alpn, e.alpn);
    assert.equal(h.legacyVersion, e.legacyVersion);
    assert.equal(h.sessionId.toString('hex'), e.sessionId);
    assert.deepEqual(h.cipherSuites, e.cipherSuites);
    assert.deepEqual(h.supportedVersions, e.supportedVersions);
    assert.deepEqual(h.signatureAlgorithms, e.signatureAlgorithms);
    assert.deepEqual(h.supportedGroups, e.supportedGroups);
    assert.equal(h.sessionTicket === null ? null : h.sessionTicket.toString('hex'), e.sessionTicket);
    assert.equal(h.pskIdentities.length > 0 ? h.pskIdentities[0].toString('hex') : null, e.firstPskIdentity);
    if (r.state !== 'done') return;
    assert.equal(r.helloLength, v.bytes.length, 'the first flight is the hello records only');
    assert.ok(r.received.equals(v.bytes));
  });

  test(`${v.name}: the same result when split at every byte`, () => {
    const whole = view(done(readClientHello(v.bytes)));
    for (let i = 1; i < v.bytes.length; i++) {
      const reader = new ClientHelloReader();
      assert.equal(reader.push(v.bytes.subarray(0, i)).state, 'need-more', `split at ${i}`);
      const r = reader.push(v.bytes.subarray(i));
      assert.deepEqual(view(done(r)), whole, `split at ${i}`);
      if (r.state === 'done') assert.ok(r.received.equals(v.bytes), `received, split at ${i}`);
    }
  });

  test(`${v.name}: the same result byte by byte and re-fragmented into many records`, () => {
    const whole = view(done(readClientHello(v.bytes)));
    const reader = new ClientHelloReader();
    let r: ClientHelloReadResult = { state: 'need-more' };
    for (let i = 0; i < v.bytes.length; i++) {
      r = reader.push(v.bytes.subarray(i, i + 1));
      if (i < v.bytes.length - 1) assert.equal(r.state, 'need-more', `byte ${i}`);
    }
    assert.deepEqual(view(done(r)), whole);
    for (const sizes of [
      [1, 1, 1, 1, 1],
      [3, 50, 7],
      [100, 100, 100, 100, 100, 100, 100, 100],
    ]) {
      const fragmented = records(handshakeOf(v.bytes), sizes);
      const f = readClientHello(fragmented);
      assert.deepEqual(view(done(f)), whole, `records ${sizes}`);
      if (f.state === 'done') assert.equal(f.helloLength, fragmented.length);
    }
  });
}

test('bytes after the hello records are kept in received, outside helloLength', () => {
  const v = VECTORS[0];
  const early = Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]); // a ChangeCipherSpec record
  for (const split of [0, 7, v.bytes.length - 1]) {
    const reader = new ClientHelloReader();
    const all = Buffer.concat([v.bytes, early]);
    if (split > 0) reader.push(all.subarray(0, split));
    const r = reader.push(all.subarray(split));
    done(r);
    if (r.state !== 'done') return;
    assert.equal(r.helloLength, v.bytes.length);
    assert.ok(r.received.equals(all));
  }
});

test('plain HTTP, SSLv2 hellos and other protocols are recognised from the first bytes', () => {
  assert.equal(reason(Buffer.from('GET / HTTP/1.1\r\n')), 'UWR_ERR_NOT_TLS plaintext-http');
  assert.equal(reason(Buffer.from('PRI * HTTP/2.0\r\n')), 'UWR_ERR_NOT_TLS plaintext-http');
  assert.equal(reason(Buffer.from('VERSION-CONTROL /x')), 'UWR_ERR_NOT_TLS plaintext-http');
  const http = new ClientHelloReader();
  assert.equal(http.push(Buffer.from('G')).state, 'need-more');
  assert.equal(http.push(Buffer.from('ET')).state, 'need-more');
  const r0 = http.push(Buffer.from(' /'));
  assert.equal(r0.state === 'error' && r0.reason, 'plaintext-http');
  assert.equal(reason(Buffer.from('\r\n')), 'UWR_ERR_NOT_TLS not-tls');
  assert.equal(reason(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), 'UWR_ERR_NOT_TLS not-tls');
  assert.equal(reason(Buffer.from('ABCDEFGHIJKLMNOPQ')), 'UWR_ERR_NOT_TLS not-tls');
  assert.equal(reason(Buffer.from([0x00])), 'UWR_ERR_NOT_TLS not-tls');
  // an alert or application data record cannot start a connection
  assert.equal(reason(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])), 'UWR_ERR_NOT_TLS not-tls');
  // SSLv2 CLIENT-HELLO: 0x80 | length, msg_type 1, version 3.1
  assert.equal(reason(Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01])), 'UWR_ERR_NOT_TLS sslv2-hello');
  const r = new ClientHelloReader();
  assert.equal(r.push(Buffer.from([0x80, 0x2e])).state, 'need-more');
  assert.equal(r.push(Buffer.from([0x01])).state, 'error');
  assert.equal(reason(Buffer.from([0x80, 0x2e, 0x02])), 'UWR_ERR_NOT_TLS not-tls');
});

test('record-layer errors', () => {
  const hs = handshake(helloBody({ serverName: 'a.example' }));
  // a non-handshake record before the hello is complete
  const first = records(hs.subarray(0, 10));
  const appData = Buffer.from([0x17, 0x03, 0x03, 0x00, 0x01, 0x00]);
  assert.equal(reason(Buffer.concat([first, appData])), 'UWR_ERR_TLS_HELLO bad-record');
  // zero-length handshake fragment (RFC 8446 §5.1)
  assert.equal(reason(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])), 'UWR_ERR_TLS_HELLO bad-record');
  // record longer than 2^14
  assert.equal(reason(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x01])), 'UWR_ERR_TLS_HELLO bad-record');
  // record version 2.x or 3.5
  assert.equal(
    reason(Buffer.from([0x16, 0x02, 0x00, 0x00, 0x04, 1, 0, 0, 0])),
    'UWR_ERR_TLS_HELLO bad-record',
  );
  assert.equal(
    reason(Buffer.from([0x16, 0x03, 0x05, 0x00, 0x04, 1, 0, 0, 0])),
    'UWR_ERR_TLS_HELLO bad-record',
  );
  // a ServerHello (type 2) where the ClientHello must be
  assert.equal(reason(records(handshake(helloBody({}), 2))), 'UWR_ERR_TLS_HELLO not-client-hello');
  // another handshake message after the ClientHello in the same record
  const two = records(Buffer.concat([hs, handshake(Buffer.alloc(0), 20)]));
  assert.equal(reason(two), 'UWR_ERR_TLS_HELLO malformed');
});

test('size limits: the declared length is refused before the body arrives, records are counted', () => {
  const reader = new ClientHelloReader({ maxHelloSize: 1000 });
  // header of a 1001-byte hello: refused with only 9 bytes received
  const r = reader.push(Buffer.from([0x16, 0x03, 0x01, 0x03, 0xed, 0x01, 0x00, 0x03, 0xe9]));
  assert.equal(r.state === 'error' && r.reason, 'too-large');
  assert.equal(r.state === 'error' && r.code, 'UWR_ERR_PACKET_TOO_LARGE');
  const ok = encodeClientHello({ serverName: 'x.example', extra: [[0xffce, Buffer.alloc(900)]] });
  assert.equal(handshakeOf(ok).length - 4 <= 1000, true);
  assert.equal(new ClientHelloReader({ maxHelloSize: 1000 }).push(ok).state, 'done');
  // the default limit: 16 KiB of hello is fine, one byte more is not
  const body = helloBody({ serverName: 'x.example' });
  const pad = (n: number) => helloBody({ serverName: 'x.example', extra: [[0xffce, Buffer.alloc(n)]] });
  const fits = pad(16384 - body.length - 4);
  assert.equal(fits.length, 16384);
  assert.equal(readClientHello(records(handshake(fits))).state, 'done');
  assert.equal(
    reason(records(handshake(pad(16384 - body.length - 3)))),
    'UWR_ERR_PACKET_TOO_LARGE too-large',
  );
  // 64 records are fine, 65 are not
  const small = handshake(helloBody({ serverName: 'x.example' }));
  const sizes = (n: number) => [...new Array<number>(n - 1).fill(1), small.length];
  assert.equal(readClientHello(records(small, sizes(64))).state, 'done');
  assert.equal(reason(records(small, sizes(65))), 'UWR_ERR_PACKET_TOO_LARGE too-fragmented');
});

test('server names: normalised, length-limited, host-name bytes only', () => {
  const name = (n: string) => readClientHello(encodeClientHello({ serverName: n }));
  assert.equal(done(name('Example.COM')).serverName, 'example.com');
  assert.equal(done(name('example.com.')).serverName, 'example.com');
  assert.equal(done(name('under_score.example')).serverName, 'under_score.example');
  assert.equal(done(name('127.0.0.1')).serverName, '127.0.0.1');
  const label = 'a'.repeat(63);
  const n255 = `${label}.${label}.${label}.${'b'.repeat(63)}`;
  assert.equal(n255.length, 255);
  assert.equal(done(name(n255)).serverName, n255);
  for (const bad of [
    `${n255}c`,
    '',
    '.',
    '.example.com',
    'a..b',
    'a/b',
    '../etc',
    'a b',
    'a\0b',
    'é.example',
    '[::1]',
  ]) {
    assert.equal(
      reason(encodeClientHello({ serverName: bad })),
      'UWR_ERR_TLS_HELLO bad-server-name',
      JSON.stringify(bad),
    );
  }
  // two names, a name type other than host_name, a list length that lies
  const two = Buffer.concat([
    sniExtensionData('a.example').subarray(2),
    sniExtensionData('b.example').subarray(2),
  ]);
  const lists = [
    Buffer.concat([Buffer.from([two.length >> 8, two.length & 0xff]), two]),
    Buffer.from([0, 4, 1, 0, 1, 0x61]),
    Buffer.from([0, 9, 0, 0, 1, 0x61]),
  ];
  for (const data of lists) {
    const hello = records(handshake(helloBody({ extra: [[0, data]] })));
    assert.equal(reason(hello), 'UWR_ERR_TLS_HELLO bad-server-name', data.toString('hex'));
  }
});

test('extension rules: duplicates, psk last, binders, vectors that do not fill', () => {
  const dup = encodeClientHello({ serverName: 'a.example', extra: [[0, sniExtensionData('b.example')]] });
  assert.equal(reason(dup), 'UWR_ERR_TLS_HELLO duplicate-extension');
  // an unknown extension may repeat (OpenSSL refuses the handshake, not this reader's job)
  const unknown = encodeClientHello({
    extra: [
      [0xfafa, Buffer.alloc(0)],
      [0xfafa, Buffer.alloc(0)],
    ],
  });
  assert.equal(readClientHello(unknown).state, 'done');
  // pre_shared_key followed by another extension
  const psk = extension(41, pskExtensionData([Buffer.from('ticket')]));
  const body = helloBody({ noExtensions: true });
  const exts = Buffer.concat([psk, extension(0xfafa, Buffer.alloc(0))]);
  const pskNotLast = Buffer.concat([body, Buffer.from([exts.length >> 8, exts.length & 0xff]), exts]);
  assert.equal(reason(records(handshake(pskNotLast))), 'UWR_ERR_TLS_HELLO malformed');
  // binder count must match identity count
  const ids = pskExtensionData([Buffer.from('t1'), Buffer.from('t2')]);
  const oneBinder = Buffer.concat([
    ids.subarray(0, 2 + ids.readUInt16BE(0)),
    Buffer.from([0, 33, 32]),
    Buffer.alloc(32),
  ]);
  assert.equal(
    reason(records(handshake(helloBody({ extra: [[41, oneBinder]] })))),
    'UWR_ERR_TLS_HELLO malformed',
  );
  // ALPN with an empty name; odd-length u16 lists
  assert.equal(
    reason(encodeClientHello({ extra: [[16, Buffer.from([0, 3, 2, 0x68, 0x32, 0])]] })),
    'UWR_ERR_TLS_HELLO malformed',
  );
  assert.equal(
    reason(encodeClientHello({ extra: [[13, Buffer.from([0, 3, 4, 3, 5])]] })),
    'UWR_ERR_TLS_HELLO malformed',
  );
  assert.equal(
    reason(encodeClientHello({ extra: [[43, Buffer.from([3, 3, 4, 3])]] })),
    'UWR_ERR_TLS_HELLO malformed',
  );
  // a hello without any extensions is a valid TLS 1.2 hello
  const bare = done(readClientHello(encodeClientHello({ noExtensions: true, cipherSuites: [0xc02f] })));
  assert.equal(bare.serverName, null);
  assert.deepEqual(bare.cipherSuites, [0xc02f]);
  // session id longer than 32
  assert.equal(reason(encodeClientHello({ sessionId: Buffer.alloc(33) })), 'UWR_ERR_TLS_HELLO malformed');
});

test('ticket and PSK fields: empty ticket means "send me one", identities keep their order', () => {
  const h = done(
    readClientHello(
      encodeClientHello({
        sessionTicket: Buffer.alloc(0),
        pskIdentities: [Buffer.from('first'), Buffer.from('second')],
        supportedVersions: [0x0304],
      }),
    ),
  );
  assert.equal(h.sessionTicket?.length, 0);
  assert.deepEqual(
    h.pskIdentities.map((b) => b.toString()),
    ['first', 'second'],
  );
  assert.equal(done(readClientHello(encodeClientHello({}))).sessionTicket, null);
});

test('a spent reader returns its result again and holds nothing after an error', () => {
  const v = VECTORS[0];
  const reader = new ClientHelloReader();
  const first = reader.push(v.bytes);
  assert.equal(reader.push(Buffer.from('more')), first);
  const bad = new ClientHelloReader();
  assert.equal(bad.push(records(handshake(helloBody({})).subarray(0, 5))).state, 'need-more');
  assert.equal(bad.buffered, 10);
  const err = bad.push(Buffer.from([0x17, 3, 3, 0, 1, 0]));
  assert.equal(err.state === 'error' && err.reason, 'bad-record');
  assert.equal(bad.buffered, 0);
  assert.equal(bad.push(Buffer.alloc(100)), err);
});
