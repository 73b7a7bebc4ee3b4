import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildForwardHead, type ForwardHeadInput } from '../../src/http-router/forward-head.ts';
import type { HttpRequestHead } from '../../src/protocol/http-request-head.ts';
import { HttpRequestHeadReader } from '../../src/protocol/http-request-head-reader.ts';

function head(text: string): HttpRequestHead {
  const r = new HttpRequestHeadReader().push(Buffer.from(text, 'latin1'));
  if (r.state !== 'done') throw new Error('bad head');
  return r.head;
}
const BASE: ForwardHeadInput = {
  clientAddress: '203.0.113.9',
  https: false,
  trusted: false,
  websocket: false,
};

test('untrusted peer: X-Forwarded-* replaced, hop-by-hop removed', () => {
  const h = head(
    'GET /x?y HTTP/1.0\r\nHost: example.com\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nForwarded: for=6.6.6.6\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nAccept: */*\r\n\r\n',
  );
  assert.equal(
    buildForwardHead(h, BASE).toString('latin1'),
    'GET /x?y HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: example.com\r\nConnection: keep-alive\r\n\r\n',
  );
});

test('trusted peer: chain appended, proto/host kept', () => {
  const h = head(
    'POST / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\nContent-Length: 3\r\n\r\n',
  );
  assert.equal(
    buildForwardHead(h, { ...BASE, trusted: true, clientAddress: '10.0.0.2', https: true }).toString(),
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\nConnection: keep-alive\r\n\r\n',
  );
  const plain = head('GET / HTTP/1.1\r\n\r\n');
  assert.equal(
    buildForwardHead(plain, { ...BASE, https: true }).toString(),
    // no Host from the client: an empty one, HTTP/1.1 requires the field (RFC 9112 §3.2)
    'GET / HTTP/1.1\r\nHost: \r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nConnection: keep-alive\r\n\r\n',
  );
});

test('websocket keeps Upgrade and sends Connection: Upgrade; chunked TE kept', () => {
  const h = head(
    'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  assert.equal(
    buildForwardHead(h, { ...BASE, websocket: true }).toString(),
    'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\nConnection: Upgrade\r\n\r\n',
  );
  const te = head('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n');
  assert.match(buildForwardHead(te, BASE).toString(), /\r\nTransfer-Encoding: chunked\r\n/);
});
