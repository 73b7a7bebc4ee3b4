import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decideKeepalive,
  type KeepaliveRequestFacts,
  type ResponseHeadFacts,
  ResponseHeadReader,
  rewriteResponseHead,
} from '../../src/http-router/response-head.ts';

function read(text: string): { head: Buffer; facts: ResponseHeadFacts; rest: string } {
  const r = new ResponseHeadReader().push(Buffer.from(text, 'latin1'));
  assert.equal(r.state, 'done', text);
  if (r.state !== 'done') throw new Error('unreachable');
  return { head: r.head, facts: r.facts, rest: r.rest.toString('latin1') };
}

const REQ: KeepaliveRequestFacts = {
  keepaliveEnabled: true,
  protocol: 'HTTP/1.1',
  method: 'GET',
  connectionClose: false,
  connectionUpgrade: false,
  transferEncoding: false,
  raw: false,
  surplusBody: false,
  acceptGzip: true,
};
const OPTS = { autoChunked: false, autoGzip: false };

test('facts of a response head, every split', () => {
  const text =
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 2\r\nConnection: Keep-Alive, Close\r\nTrailers: x\r\nContent-Encoding: br\r\nuWSGI-Encoding: GZIP\r\n\r\nok';
  const whole = Buffer.from(text);
  for (let a = 0; a <= whole.length; a++) {
    const reader = new ResponseHeadReader();
    let r = reader.push(whole.subarray(0, a));
    if (r.state === 'need-more') r = reader.push(whole.subarray(a));
    assert.equal(r.state, 'done');
    if (r.state !== 'done') return;
    assert.deepEqual(r.facts, {
      headSize: text.length - 2,
      http11: true,
      status: 200,
      contentLength: 2,
      hasTransferEncoding: false,
      transferChunked: false,
      hasConnection: true,
      connectionClose: true,
      hasTrailers: true,
      hasContentEncoding: true,
      uwsgiEncodingGzip: true,
    });
    const restLen = r.rest.length + (a > text.length - 2 ? 0 : 0);
    assert.ok(restLen <= 2);
  }
  const f = read('HTTP/1.0 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\n\r\n').facts;
  assert.equal(f.http11, false);
  assert.equal(f.status, 404);
  assert.equal(f.transferChunked, true);
  assert.equal(
    read('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n').facts.contentLength,
    -2,
  );
  assert.equal(read('HTTP/1.1 2x0 OK\r\n\r\n').facts.status, 0);
  assert.equal(read('HTTP/1.1 204\r\n\r\n').facts.status, 204);
});

test('opaque: no head within the bound, flush at EOF', () => {
  const r = new ResponseHeadReader(64);
  assert.equal(r.push(Buffer.from('x'.repeat(40))).state, 'need-more');
  const o = r.push(Buffer.from('y'.repeat(40)));
  assert.ok(o.state === 'opaque' && o.data.length === 80);
  const after = r.push(Buffer.from('z'));
  assert.ok(after.state === 'opaque' && after.data.toString() === 'z');
  const e = new ResponseHeadReader();
  e.push(Buffer.from('HTTP/1.1 200 OK\r\n'));
  assert.equal(e.flush().toString(), 'HTTP/1.1 200 OK\r\n');
  // \n\r\n is not the end (uWSGI looks for the exact CR LF CR LF)
  assert.equal(new ResponseHeadReader().push(Buffer.from('HTTP/1.1 200 OK\n\r\nxx')).state, 'need-more');
});

test('keepalive decision table (spec §7)', () => {
  type Row = [string, Partial<KeepaliveRequestFacts>, string, Partial<typeof OPTS>, string];
  // expected: keepalive/chunk/gzip/connectionClose/body
  const rows: Row[] = [
    ['CL kept alive', {}, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n', {}, 'ka - - - length'],
    [
      'TE chunked kept alive',
      {},
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      {},
      'ka - - - chunked',
    ],
    [
      'TE non-chunked closes',
      {},
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n',
      {},
      '- - - close close',
    ],
    ['unframed closes + Connection: close', {}, 'HTTP/1.1 200 OK\r\n\r\n', {}, '- - - close close'],
    ['unframed + auto-chunked', {}, 'HTTP/1.1 200 OK\r\n\r\n', { autoChunked: true }, 'ka chunk - - chunked'],
    [
      'auto-chunked needs keepalive',
      { keepaliveEnabled: false },
      'HTTP/1.1 200 OK\r\n\r\n',
      { autoChunked: true },
      '- - - close close',
    ],
    [
      'option off: close + header (#2112)',
      { keepaliveEnabled: false },
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n',
      {},
      '- - - close length',
    ],
    [
      'HTTP/1.0 request',
      { protocol: 'HTTP/1.0' },
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n',
      {},
      '- - - close length',
    ],
    [
      'request Connection: close',
      { connectionClose: true },
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n',
      {},
      '- - - close length',
    ],
    [
      'request Connection: upgrade',
      { connectionUpgrade: true },
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n',
      {},
      '- - - close length',
    ],
    [
      'request TE',
      { transferEncoding: true },
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n',
      {},
      '- - - close length',
    ],
    [
      'surplus body',
      { surplusBody: true },
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n',
      {},
      '- - - close length',
    ],
    ['response HTTP/1.0', {}, 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n', {}, '- - - close length'],
    [
      'response Connection: close',
      {},
      'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n',
      {},
      '- - - - length',
    ],
    [
      'response Trailers',
      {},
      'HTTP/1.1 200 OK\r\nTrailers: x\r\nContent-Length: 2\r\n\r\n',
      {},
      '- - - close length',
    ],
    [
      'HEAD: no body, no chunking',
      { method: 'HEAD' },
      'HTTP/1.1 200 OK\r\n\r\n',
      { autoChunked: true },
      'ka - - - none',
    ],
    ['204: no chunking', {}, 'HTTP/1.1 204 No Content\r\n\r\n', { autoChunked: true }, 'ka - - - none'],
    ['304: no chunking', {}, 'HTTP/1.1 304 Not Modified\r\n\r\n', { autoChunked: true }, 'ka - - - none'],
    [
      'gzip',
      {},
      'HTTP/1.1 200 OK\r\nuWSGI-Encoding: gzip\r\n\r\n',
      { autoGzip: true },
      'ka chunk gzip - chunked',
    ],
    [
      'gzip without keepalive',
      { keepaliveEnabled: false },
      'HTTP/1.1 200 OK\r\nuWSGI-Encoding: gzip\r\n\r\n',
      { autoGzip: true },
      '- chunk gzip close chunked',
    ],
    [
      'gzip: client did not ask',
      { acceptGzip: false },
      'HTTP/1.1 200 OK\r\nuWSGI-Encoding: gzip\r\n\r\n',
      { autoGzip: true },
      '- - - close close',
    ],
    [
      'gzip: already encoded',
      {},
      'HTTP/1.1 200 OK\r\nuWSGI-Encoding: gzip\r\nContent-Encoding: br\r\n\r\n',
      { autoGzip: true },
      '- - - close close',
    ],
    [
      'gzip: has length',
      {},
      'HTTP/1.1 200 OK\r\nuWSGI-Encoding: gzip\r\nContent-Length: 2\r\n\r\n',
      { autoGzip: true },
      'ka - - - length',
    ],
    [
      'gzip: HTTP/1.0 client',
      { protocol: 'HTTP/1.0' },
      'HTTP/1.1 200 OK\r\nuWSGI-Encoding: gzip\r\n\r\n',
      { autoGzip: true },
      '- - - close close',
    ],
    [
      '101 switching',
      {},
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n',
      {},
      '- - - - close',
    ],
    ['raw session', { raw: true }, 'HTTP/1.1 200 OK\r\n\r\n', {}, '- - - - close'],
  ];
  for (const [name, req, text, opts, want] of rows) {
    const p = decideKeepalive({ ...REQ, ...req }, read(text).facts, { ...OPTS, ...opts });
    const got = [
      p.keepalive ? 'ka' : '-',
      p.chunk ? 'chunk' : '-',
      p.gzip ? 'gzip' : '-',
      p.connectionClose ? 'close' : '-',
      p.body,
    ].join(' ');
    assert.equal(got, want, name);
  }
  const info = decideKeepalive(REQ, read('HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n').facts, OPTS);
  assert.ok(info.informational && !info.keepalive && info.body === 'none');
});

test('rewritten heads', () => {
  const plain = read('HTTP/1.1 200 OK\r\nX: y\r\n\r\n');
  const chunked = rewriteResponseHead(
    plain.head,
    plain.facts,
    decideKeepalive(REQ, plain.facts, { ...OPTS, autoChunked: true }),
  );
  assert.equal(chunked.toString(), 'HTTP/1.1 200 OK\r\nX: y\r\nTransfer-Encoding: chunked\r\n\r\n');
  const closing = rewriteResponseHead(plain.head, plain.facts, decideKeepalive(REQ, plain.facts, OPTS));
  assert.equal(closing.toString(), 'HTTP/1.1 200 OK\r\nX: y\r\nConnection: close\r\n\r\n');
  const gz = read('HTTP/1.1 200 OK\r\nuWSGI-Encoding: gzip\r\n\r\n');
  assert.equal(
    rewriteResponseHead(
      gz.head,
      gz.facts,
      decideKeepalive(REQ, gz.facts, { ...OPTS, autoGzip: true }),
    ).toString(),
    'HTTP/1.1 200 OK\r\nuWSGI-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n',
  );
  const ka = read('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX: y\r\n\r\n');
  assert.equal(
    rewriteResponseHead(
      ka.head,
      ka.facts,
      decideKeepalive({ ...REQ, keepaliveEnabled: false }, ka.facts, OPTS),
    ).toString(),
    'HTTP/1.1 200 OK\r\nX: y\r\nConnection: close\r\n\r\n',
  );
  const cl = read('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n');
  const same = rewriteResponseHead(cl.head, cl.facts, decideKeepalive(REQ, cl.facts, OPTS));
  assert.equal(same, cl.head);
});
