/**
 * Request-line shapes, Transfer-Encoding and Expect decisions of the head parser
 * (src/protocol/http-request-line.ts and http-request-head.ts): the statuses the router
 * answers and the head it forwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_HEAD_SIZE, type HttpHeadOptions } from '../../src/protocol/http-request-head.ts';
import { HttpRequestHeadReader } from '../../src/protocol/http-request-head-reader.ts';

function read(text: string, options: HttpHeadOptions = {}) {
  return new HttpRequestHeadReader(options).push(Buffer.from(text, 'latin1'));
}

function verdict(text: string, options: HttpHeadOptions = {}): string {
  const r = read(text, options);
  return r.state === 'error' ? `${r.status} ${r.reason}` : r.state;
}

test('versions: HTTP/1.0 and 1.1 served, a later 1.x as 1.1, others 505, the HTTP/2 preface 400', () => {
  const cases: Array<[string, string]> = [
    ['GET / HTTP/2.0\r\nHost: a\r\n\r\n', '505 unsupported-version'],
    ['GET / HTTP/3.0\r\nHost: a\r\n\r\n', '505 unsupported-version'],
    ['GET / HTTP/0.9\r\n\r\n', '505 unsupported-version'],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '400 http2-preface'],
    ['OPTIONS rtsp://cam/x RTSP/1.0\r\n\r\n', '400 bad-protocol'],
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'done'],
  ];
  for (const [text, want] of cases) assert.equal(verdict(text), want, JSON.stringify(text));
  const later = read('GET / HTTP/1.7\r\nHost: a\r\n\r\n');
  assert.ok(later.state === 'done');
  assert.equal(later.head.protocol, 'HTTP/1.1');
  const old = read('GET / HTTP/1.0\r\n\r\n');
  assert.ok(old.state === 'done' && old.head.protocol === 'HTTP/1.0');
});

test('request-target forms: CONNECT 501, asterisk only for OPTIONS, no relative or foreign targets', () => {
  const cases: Array<[string, string]> = [
    ['CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n', '501 connect-not-supported'],
    ['CONNECT /x HTTP/1.1\r\n\r\n', '501 connect-not-supported'],
    ['GET * HTTP/1.1\r\nHost: a\r\n\r\n', '400 asterisk-not-options'],
    ['GET foo/bar HTTP/1.1\r\nHost: a\r\n\r\n', '400 bad-target'],
    ['GET ./foo HTTP/1.1\r\nHost: a\r\n\r\n', '400 bad-target'],
    ['GET ftp://a.example/x HTTP/1.1\r\n\r\n', '400 bad-target'],
    ['GET http:/a.example/x HTTP/1.1\r\n\r\n', '400 bad-target'],
    ['GET http://user@a.example/x HTTP/1.1\r\n\r\n', '400 userinfo-in-target'],
    ['GET http:///x HTTP/1.1\r\n\r\n', '400 bad-authority'],
    ['GET http://a"b/x HTTP/1.1\r\n\r\n', '400 bad-authority'],
    ['GET http://a\xe9b/x HTTP/1.1\r\n\r\n', '400 bad-authority'],
    [`GET http://${'h'.repeat(256)}/ HTTP/1.1\r\n\r\n`, '400 host-too-long'],
  ];
  for (const [text, want] of cases) assert.equal(verdict(text), want, JSON.stringify(text));
  const star = read('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.ok(star.state === 'done');
  assert.equal(star.head.uri, '*');
  assert.equal(star.head.authority, null);
});

test('absolute-form: the authority replaces Host (in place, name kept) and the path is the URI', () => {
  const r = read(
    'GET http://Abs.Example:8080/p%41th/x?q=1 HTTP/1.1\r\nX-A: 1\r\nhost: other.example\r\n\r\n',
  );
  assert.ok(r.state === 'done');
  assert.equal(r.head.uri, '/p%41th/x?q=1');
  assert.equal(r.head.authority, 'Abs.Example:8080');
  assert.equal(r.head.host, 'Abs.Example:8080');
  assert.deepEqual(r.head.headers, [
    { name: 'X-A', value: '1' },
    { name: 'host', value: 'Abs.Example:8080' },
  ]);
  // no Host at all (an HTTP/1.0 client talking to a proxy): one is added
  const noHost = read('GET HTTPS://a.example HTTP/1.0\r\n\r\n');
  assert.ok(noHost.state === 'done');
  assert.equal(noHost.head.uri, '/');
  assert.deepEqual(noHost.head.headers, [{ name: 'Host', value: 'a.example' }]);
  const query = read('GET http://a.example?x=1 HTTP/1.1\r\n\r\n');
  assert.ok(query.state === 'done' && query.head.uri === '/?x=1');
  const v6 = read('GET http://[::1]:8080/x HTTP/1.1\r\n\r\n');
  assert.ok(v6.state === 'done' && v6.head.host === '[::1]:8080' && v6.head.uri === '/x');
});

test('Transfer-Encoding: refused in HTTP/1.0, without a final chunked, and with other codings unless streamed', () => {
  const cases: Array<[string, string, HttpHeadOptions?]> = [
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', '400 transfer-encoding-in-http10'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', '400 bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', '400 bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', '501 unsupported-transfer-coding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'done', { chunkedInput: true }],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n', 'done'],
  ];
  for (const [text, want, options] of cases) assert.equal(verdict(text, options), want, JSON.stringify(text));
});

test('Expect: only 100-continue (any case), other members 417; ignored in HTTP/1.0', () => {
  const cases: Array<[string, string]> = [
    ['POST / HTTP/1.1\r\nExpect: foo\r\nContent-Length: 1\r\n\r\n', '417 unsupported-expectation'],
    [
      'POST / HTTP/1.1\r\nExpect: 100-continue, foo\r\nContent-Length: 1\r\n\r\n',
      '417 unsupported-expectation',
    ],
    ['POST / HTTP/1.1\r\nExpect: 100-continue\r\nExpect: x=1\r\n\r\n', '417 unsupported-expectation'],
    ['POST / HTTP/1.0\r\nExpect: foo\r\nContent-Length: 1\r\n\r\n', 'done'],
    ['POST / HTTP/1.1\r\nExpect:\r\nContent-Length: 1\r\n\r\n', 'done'],
  ];
  for (const [text, want] of cases) assert.equal(verdict(text), want, JSON.stringify(text));
  const r = read('POST / HTTP/1.1\r\nExpect: 100-CONTINUE\r\nContent-Length: 1\r\n\r\n');
  assert.ok(r.state === 'done' && r.head.expectContinue);
});

test('the default head limit is 16 KiB (Node, HAProxy): a 20 KB header gets 431, a 15 KB one passes', () => {
  assert.equal(DEFAULT_MAX_HEAD_SIZE, 16384);
  const head = (n: number) => `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(n)}\r\n\r\n`;
  assert.equal(verdict(head(20000)), '431 head-too-large');
  assert.equal(verdict(head(15000)), 'done');
  assert.equal(verdict(head(20000), { maxHeadSize: 65536 }), 'done');
});
