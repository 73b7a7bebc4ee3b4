import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildForwardHead,
  type ForwardHeadInput,
  forwardFraming,
} from '../../src/http-router/forward-head.ts';
import type { HttpRequestHead } from '../../src/protocol/http-request-head.ts';
import { HttpRequestHeadReader } from '../../src/protocol/http-request-head-reader.ts';

function head(text: string, chunkedInput = false): HttpRequestHead {
  const r = new HttpRequestHeadReader({ chunkedInput }).push(Buffer.from(text, 'latin1'));
  if (r.state !== 'done') throw new Error(`bad head: ${r.state === 'error' ? r.reason : r.state}`);
  return r.head;
}
const BASE: ForwardHeadInput = {
  clientAddress: '203.0.113.9',
  https: false,
  trusted: false,
  websocket: false,
  via: 'uwrouter-0badcafe',
};

/** the head as the router forwards it, with the framing forwardFraming decided */
function forward(text: string, input: ForwardHeadInput = BASE): string {
  const h = head(text);
  const f = forwardFraming(h);
  if (!f.ok) throw new Error(f.why);
  return buildForwardHead(h, f.length, input).toString('latin1');
}

/** header lines of a forwarded head (without the request line) */
function lines(out: string): string[] {
  return out.split('\r\n').slice(1, -2);
}

test('untrusted peer: X-Forwarded-* replaced, hop-by-hop removed, Via appended', () => {
  assert.equal(
    forward(
      'GET /x?y HTTP/1.0\r\nHost: example.com\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nForwarded: for=6.6.6.6\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nAccept: */*\r\nVia: 1.0 fred\r\n\r\n',
    ),
    'GET /x?y HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nVia: 1.0 fred\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: example.com\r\nVia: 1.1 uwrouter-0badcafe\r\nConnection: keep-alive\r\n\r\n',
  );
});

test('trusted peer: chain appended, proto/host kept; Content-Length re-declared by the router', () => {
  assert.equal(
    forward(
      'POST / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\nContent-Length: 3\r\n\r\n',
      { ...BASE, trusted: true, clientAddress: '10.0.0.2', https: true },
    ),
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\nVia: 1.1 uwrouter-0badcafe\r\nConnection: keep-alive\r\n\r\n',
  );
  assert.equal(
    forward('GET / HTTP/1.1\r\n\r\n', { ...BASE, https: true }),
    // no Host from the client: an empty one, HTTP/1.1 requires the field (RFC 9112 §3.2)
    'GET / HTTP/1.1\r\nHost: \r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nVia: 1.1 uwrouter-0badcafe\r\nConnection: keep-alive\r\n\r\n',
  );
});

test('websocket keeps Upgrade and sends Connection: Upgrade', () => {
  assert.equal(
    forward(
      'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n',
      { ...BASE, websocket: true },
    ),
    'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\nVia: 1.1 uwrouter-0badcafe\r\nConnection: Upgrade\r\n\r\n',
  );
});

test('a Connection list never removes the framing or Host: the router declares exactly what it forwards', () => {
  // [request, the one framing line the node must see (or none)]
  const rows: Array<[string, string | null]> = [
    [
      'POST / HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\nContent-Length: 7\r\n\r\n',
      'Content-Length: 7',
    ],
    [
      'POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length, close\r\nContent-Length: 7\r\n\r\n',
      'Content-Length: 7',
    ],
    [
      'POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: content-length\r\nContent-Length: 7\r\n\r\n',
      'Content-Length: 7',
    ],
    [
      'POST / HTTP/1.1\r\nHost: a\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n',
      'Transfer-Encoding: chunked',
    ],
    [
      'POST / HTTP/1.1\r\nHost: a\r\nConnection: x, TRANSFER-ENCODING\r\nTransfer-Encoding: CHUNKED\r\n\r\n',
      'Transfer-Encoding: chunked',
    ],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 07\r\n\r\n', 'Content-Length: 7'],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n', 'Content-Length: 7'],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n', 'Content-Length: 0'],
    ['GET / HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\n\r\n', null],
  ];
  for (const [req, framing] of rows) {
    const out = lines(forward(req));
    const got = out.filter((l) => /^(content-length|transfer-encoding):/i.test(l));
    assert.deepEqual(got, framing === null ? [] : [framing], req);
    assert.ok(out.includes('Host: a'), `Host kept: ${req}`);
  }
  const host = lines(forward('GET / HTTP/1.1\r\nHost: kept.example\r\nConnection: host, HOST\r\n\r\n'));
  assert.ok(host.includes('Host: kept.example'));
  // other listed fields do go (RFC 9110 §7.6.1)
  const listed = lines(
    forward('GET / HTTP/1.1\r\nHost: a\r\nConnection: x-a, X-B\r\nX-A: 1\r\nx-b: 2\r\nX-C: 3\r\n\r\n'),
  );
  assert.deepEqual(
    listed.filter((l) => l.startsWith('X-') || l.startsWith('x-')),
    ['X-C: 3', 'X-Forwarded-For: 203.0.113.9', 'X-Forwarded-Proto: http', 'X-Forwarded-Host: a'],
  );
});

test('Expect is not forwarded (the router answers 100 itself)', () => {
  const out = lines(
    forward('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n'),
  );
  assert.equal(
    out.some((l) => /^expect:/i.test(l)),
    false,
  );
});

test('forwardFraming: what the node may be sent, or why not', () => {
  const f = (t: string) => forwardFraming(head(t));
  assert.deepEqual(f('GET / HTTP/1.1\r\n\r\n'), { ok: true, length: 0 });
  assert.deepEqual(f('POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n'), { ok: true, length: 12 });
  assert.deepEqual(f('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'), { ok: true, length: -1 });
  assert.deepEqual(f('POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n'), { ok: true, length: -1 });
  // the head reader already refuses a Transfer-Encoding without one final chunked (400):
  // forwardFraming still does, for a head that got past it (defence in depth)
  const chunkedHead = head('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n');
  for (const te of ['xchunked', 'chunked, gzip', 'chunked, chunked', '"chunked"']) {
    assert.equal(
      new HttpRequestHeadReader().push(
        Buffer.from(`POST / HTTP/1.1\r\nTransfer-Encoding: ${te}\r\n\r\n`, 'latin1'),
      ).state,
      'error',
      te,
    );
    const r = forwardFraming({ ...chunkedHead, transferEncoding: te, chunked: false });
    assert.deepEqual(r.ok ? null : [r.status, r.code], [400, 'UWR_ERR_BAD_REQUEST'], te);
  }
  // with http-chunked-input the reader lets codings before the final chunked through (uwsgi
  // nodes get them as sent); an HTTP node cannot be sent them re-chunked: 501
  for (const te of [
    'Transfer-Encoding: gzip, chunked',
    'Transfer-Encoding: identity\r\nTransfer-Encoding: chunked',
  ]) {
    const r = forwardFraming(head(`POST / HTTP/1.1\r\n${te}\r\n\r\n`, true));
    assert.deepEqual(r.ok ? null : [r.status, r.code], [501, 'UWR_ERR_NOT_IMPLEMENTED'], te);
  }
});
