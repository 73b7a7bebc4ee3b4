import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type HeadReadResult,
  type HttpHeadOptions,
  parseRequestHead,
} from '../../src/protocol/http-request-head.ts';
import { HttpRequestHeadReader } from '../../src/protocol/http-request-head-reader.ts';

/** what the fixture's curl sent (test/fixtures/request/http-router-get.*) */
export const CURL_GET =
  'GET /path/x?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: golden/1.0\r\nAccept: */*\r\n\r\n';

function parse(text: string, options: HttpHeadOptions = {}): HeadReadResult {
  return new HttpRequestHeadReader(options).push(Buffer.from(text, 'latin1'));
}

function reason(text: string, options: HttpHeadOptions = {}): string {
  const r = parse(text, options);
  return r.state === 'error' ? `${r.status} ${r.reason}` : r.state;
}

test('parses the fixture request', () => {
  const r = parse(`${CURL_GET}BODY`);
  assert.equal(r.state, 'done');
  if (r.state !== 'done') return;
  assert.equal(r.head.method, 'GET');
  assert.equal(r.head.uri, '/path/x?a=1&b=2');
  assert.equal(r.head.protocol, 'HTTP/1.1');
  assert.deepEqual(r.head.headers, [
    { name: 'Host', value: 'example.com' },
    { name: 'User-Agent', value: 'golden/1.0' },
    { name: 'Accept', value: '*/*' },
  ]);
  assert.equal(r.head.host, 'example.com');
  assert.equal(r.head.contentLength, -1);
  assert.equal(r.head.headSize, CURL_GET.length);
  assert.equal(r.rest.toString(), 'BODY');
});

test('every split point of a real request gives the same head', () => {
  const whole = Buffer.from(`${CURL_GET}xyz`, 'latin1');
  const expected = parse(CURL_GET);
  for (let a = 0; a <= whole.length; a++) {
    for (const b of [a, Math.min(whole.length, a + 1), Math.min(whole.length, a + 7)]) {
      const reader = new HttpRequestHeadReader();
      const parts = [whole.subarray(0, a), whole.subarray(a, b), whole.subarray(b)];
      let done: HeadReadResult | null = null;
      let rest = '';
      for (const part of parts) {
        if (done) {
          rest += part.toString('latin1');
          continue;
        }
        const r = reader.push(part);
        if (r.state === 'done') {
          done = r;
          rest = r.rest.toString('latin1');
        } else assert.equal(r.state, 'need-more', `split ${a}/${b}`);
      }
      assert.ok(done && done.state === 'done' && expected.state === 'done');
      assert.deepEqual(done.head, expected.head);
      assert.equal(rest, 'xyz');
    }
  }
});

test('byte-by-byte feeding', () => {
  const reader = new HttpRequestHeadReader();
  const buf = Buffer.from(CURL_GET);
  for (let i = 0; i < buf.length - 1; i++)
    assert.equal(reader.push(buf.subarray(i, i + 1)).state, 'need-more');
  const r = reader.push(buf.subarray(buf.length - 1));
  assert.equal(r.state, 'done');
  assert.equal(reader.buffered, 0);
  // after done the reader ignores input until reset (no pipelining, spec §7)
  assert.equal(reader.push(buf).state, 'need-more');
  reader.reset();
  assert.equal(reader.push(buf).state, 'done');
});

test('head size bound → 431', () => {
  const big = `GET / HTTP/1.1\r\nX: ${'a'.repeat(70000)}\r\n\r\n`;
  assert.equal(reason(big), '431 head-too-large');
  const reader = new HttpRequestHeadReader({ maxHeadSize: 100 });
  assert.equal(reader.push(Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(60)}`)).state, 'need-more');
  const r = reader.push(Buffer.from('a'.repeat(40)));
  assert.equal(r.state, 'error');
  assert.equal(reader.buffered, 0);
  // exactly at the bound is fine
  const exact = `GET / HTTP/1.1\r\nX: ${'b'.repeat(100 - 23)}\r\n\r\n`;
  assert.equal(exact.length, 100);
  assert.equal(reason(exact, { maxHeadSize: 100 }), 'done');
  assert.equal(
    reason(`${exact.slice(0, 20)}b${exact.slice(20)}`, { maxHeadSize: 100 }),
    '431 head-too-large',
  );
  assert.equal(reason(`GET /${'u'.repeat(50)} HTTP/1.1\r\n\r\n`, { maxUriLength: 20 }), '431 uri-too-long');
});

test('request smuggling and malformed heads are refused with 400', () => {
  const cases: ReadonlyArray<readonly [string, string, HttpHeadOptions?]> = [
    ['GET / HTTP/1.1\nHost: a\r\n\r\n', 'bare-lf'],
    ['GET / HTTP/1.1\r\nHost: a\n\r\n', 'bare-lf'],
    ['GET / HTTP/1.1\r\nHost: a\r\n\n', 'bare-lf'],
    ['GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n', 'bare-cr'],
    [
      'GET / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
      'content-length-and-transfer-encoding',
    ],
    [
      'GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n',
      'content-length-and-transfer-encoding',
    ],
    ['GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 'conflicting-content-length'],
    ['GET / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n', 'bad-content-length'],
    ['GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n', 'bad-content-length'],
    ['GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n', 'bad-content-length'],
    ['GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n', 'bad-content-length'],
    ['GET / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n', 'bad-content-length'],
    ['GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n', 'bad-content-length'],
    ['GET / HTTP/1.1\r\nContent-Length:\r\n\r\n', 'bad-content-length'],
    ['GET / HTTP/1.1\r\nContent-Length: 9999999999999999\r\n\r\n', 'bad-content-length'],
    ['GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 'bad-transfer-encoding', { chunkedInput: true }],
    [
      'GET / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n',
      'bad-transfer-encoding',
      { chunkedInput: true },
    ],
    [
      'GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
      'bad-transfer-encoding',
      { chunkedInput: true },
    ],
    [
      'GET / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n',
      'bad-transfer-encoding',
      { chunkedInput: true },
    ],
    ['GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n', 'obs-fold'],
    ['GET / HTTP/1.1\r\nX: a\r\n\tfolded\r\n\r\n', 'obs-fold'],
    ['GET / HTTP/1.1\r\nHost : a\r\n\r\n', 'space-before-colon'],
    ['GET / HTTP/1.1\r\nHost\t: a\r\n\r\n', 'space-before-colon'],
    ['GET / HTTP/1.1\r\nHo\x01st: a\r\n\r\n', 'bad-header-name'],
    ['GET / HTTP/1.1\r\nHo(st: a\r\n\r\n', 'bad-header-name'],
    ['GET / HTTP/1.1\r\n: a\r\n\r\n', 'bad-header-name'],
    ['GET / HTTP/1.1\r\nNoColon\r\n\r\n', 'missing-colon'],
    ['GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n', 'bad-header-value'],
    ['GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n', 'bad-header-value'],
    ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'duplicate-host'],
    [`GET / HTTP/1.1\r\nHost: ${'h'.repeat(256)}\r\n\r\n`, 'host-too-long'],
    ['GET /  HTTP/1.1\r\n\r\n', 'bad-protocol'],
    ['GET  / HTTP/1.1\r\n\r\n', 'bad-uri'],
    ['GET / HTTP/1.1 \r\n\r\n', 'bad-protocol'],
    ['GET /\r\n\r\n', 'bad-request-line'],
    ['GET\r\n\r\n', 'bad-request-line'],
    ['G(T / HTTP/1.1\r\n\r\n', 'bad-method'],
    [' GET / HTTP/1.1\r\n\r\n', 'bad-method'],
    ['GET / HTTP/2\r\n\r\n', 'bad-protocol'],
    ['GET / http/1.1\r\n\r\n', 'bad-protocol'],
    ['GET /a\x01b HTTP/1.1\r\n\r\n', 'bad-uri'],
    ['\r\n\r\n\r\n', 'empty-head'], // two leading empty lines are skipped (RFC 9112 §2.2), not three
    ['\r\r\n\r\n', 'bad-method'], // a lone CR is no empty line: it reaches the request line
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n\r\n', 'empty-head', { proxyProtocol: true }],
    ['PROXY TCP4 1.2.3 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\n\r\n', 'bad-proxy-line', { proxyProtocol: true }],
    [
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\nGET / HTTP/1.1\r\n\r\n',
      'bad-proxy-line',
      { proxyProtocol: true },
    ],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\n\r\n', 'bad-protocol'], // PROXY off: not a request line
  ];
  for (const [text, why, options] of cases)
    assert.equal(reason(text, options), `400 ${why}`, JSON.stringify(text));
});

test('up to two empty lines before the request line are ignored, at any split', () => {
  const text = `\r\n\r\n${CURL_GET}`;
  for (let cut = 0; cut <= text.length; cut++) {
    const reader = new HttpRequestHeadReader();
    const a = reader.push(Buffer.from(text.slice(0, cut), 'latin1'));
    const r = a.state === 'done' ? a : reader.push(Buffer.from(text.slice(cut), 'latin1'));
    assert.equal(r.state, 'done', `split at ${cut}`);
    if (r.state === 'done') assert.equal(r.head.method, 'GET');
  }
});

test('accepted variants', () => {
  const r = parse(
    'POST /u HTTP/1.0\r\nContent-Length: 5\r\ncontent-length: 5\r\nX-Empty:\r\nX-Pad: \t v \t\r\nConnection: Keep-Alive, Upgrade\r\nExpect: 100-Continue\r\nAccept-Encoding: br, gzip\r\nX-Latin: \xe9\r\n\r\n',
  );
  assert.equal(r.state, 'done');
  if (r.state !== 'done') return;
  assert.equal(r.head.contentLength, 5);
  assert.deepEqual(
    r.head.headers.map((h) => [h.name, h.value]),
    [
      ['Content-Length', '5'],
      ['X-Empty', ''],
      ['X-Pad', 'v'],
      ['Connection', 'Keep-Alive, Upgrade'],
      ['Expect', '100-Continue'],
      ['Accept-Encoding', 'br, gzip'],
      ['X-Latin', '\xe9'],
    ],
  );
  assert.equal(r.head.host, null);
  assert.equal(r.head.connectionKeepAlive, true);
  assert.equal(r.head.connectionUpgrade, true);
  assert.equal(r.head.connectionClose, false);
  // RFC 9110 §10.1.1: an HTTP/1.0 expectation is ignored
  assert.equal(r.head.expectContinue, false);
  assert.equal(r.head.acceptGzip, true);
  const expect11 = parse('POST /u HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n');
  assert.ok(expect11.state === 'done' && expect11.head.expectContinue);

  const te = parse('POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n', { chunkedInput: true });
  assert.ok(te.state === 'done' && te.head.chunked && te.head.transferEncoding === 'gzip, Chunked');
  const te2 = parse('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n');
  assert.ok(te2.state === 'done' && te2.head.chunked && te2.head.transferEncoding === 'chunked');
  const cl = parse('POST / HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n');
  assert.ok(cl.state === 'done' && cl.head.contentLength === 7 && cl.head.headers[0].value === '7');
  const host255 = parse(`GET / HTTP/1.1\r\nHost: ${'h'.repeat(255)}\r\n\r\n`);
  assert.ok(host255.state === 'done' && host255.head.host?.length === 255);
  const emptyHost = parse('GET / HTTP/1.1\r\nHost:\r\n\r\n');
  assert.ok(
    emptyHost.state === 'done' && emptyHost.head.host === null && emptyHost.head.headers.length === 1,
  );
});

test('PROXY v1 line', () => {
  const r = parse('PROXY TCP4 10.0.0.1 10.0.0.2 5555 80\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n', {
    proxyProtocol: true,
  });
  assert.ok(r.state === 'done');
  assert.deepEqual(r.head.proxy, {
    protocol: 'TCP4',
    srcAddress: '10.0.0.1',
    dstAddress: '10.0.0.2',
    srcPort: 5555,
    dstPort: 80,
  });
  const v6 = parse('PROXY TCP6 ::1 fe80::2 1 2\r\nGET / HTTP/1.1\r\n\r\n', { proxyProtocol: true });
  assert.ok(v6.state === 'done' && v6.head.proxy?.srcAddress === '::1');
  const unk = parse('PROXY UNKNOWN\r\nGET / HTTP/1.1\r\n\r\n', { proxyProtocol: true });
  assert.ok(unk.state === 'done' && unk.head.proxy?.protocol === 'UNKNOWN');
  // optional when enabled
  const none = parse('GET / HTTP/1.1\r\n\r\n', { proxyProtocol: true });
  assert.ok(none.state === 'done' && none.head.proxy === null);
});

test('parseRequestHead on a complete buffer', () => {
  const buf = Buffer.from(CURL_GET);
  const r = parseRequestHead(buf, buf.length);
  assert.ok(r.ok && r.head.headers.length === 3);
});
