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
  upgrade: false,
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
      error: null,
      http11: true,
      status: 200,
      contentLength: 2,
      hasTransferEncoding: false,
      transferChunked: false,
      hasConnection: true,
      connectionClose: true,
      hopByHop: true,
      hasTrailers: true,
      hasContentEncoding: true,
      uwsgiEncodingGzip: true,
    });
    // the body bytes that came in the read which completed the head: all of "ok" when the
    // head ended in the second read, else what the first read held past the head
    const headEnd = text.length - 2;
    assert.equal(r.rest.toString(), a < headEnd ? 'ok' : text.slice(headEnd, a), `split at ${a}`);
  }
  const f = read('HTTP/1.0 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\n\r\n').facts;
  assert.equal(f.http11, false);
  assert.equal(f.status, 404);
  assert.equal(f.transferChunked, true);
  assert.equal(read('HTTP/1.1 204\r\n\r\n').facts.status, 204);
  assert.equal(
    read('HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n').facts.contentLength,
    5,
  );
  const te = read('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n').facts;
  assert.ok(te.transferChunked && te.error === null, 'two Transfer-Encoding lines are one list');
  assert.equal(read('HTTP/1.1 200 OK\r\nX: y\r\n\r\n').facts.hopByHop, false);
});

test('the reader: bounded, and a bare LF ends it at once', () => {
  const r = new ResponseHeadReader(64);
  assert.equal(r.push(Buffer.from('x'.repeat(40))).state, 'need-more');
  assert.deepEqual(r.push(Buffer.from('y'.repeat(24))), { state: 'error', reason: 'head-too-large' });
  // at most the bound is held: one byte less is still need-more
  const under = new ResponseHeadReader(64);
  assert.equal(under.push(Buffer.from('x'.repeat(63))).state, 'need-more');
  assert.equal(under.buffered, 63);
  for (const text of ['HTTP/1.1 200 OK\n\r\nxx', 'HTTP/1.1 200 OK\r\nX: y\n\r\n', 'HTTP/1.1 200 OK\r\n\n']) {
    for (let a = 1; a < text.length; a++) {
      const reader = new ResponseHeadReader();
      let res = reader.push(Buffer.from(text.slice(0, a)));
      if (res.state === 'need-more') res = reader.push(Buffer.from(text.slice(a)));
      assert.deepEqual(res, { state: 'error', reason: 'bare-lf' }, `${JSON.stringify(text)} split at ${a}`);
    }
  }
});

test('response head validation: what is not valid HTTP/1.x never reaches a client', () => {
  const rows: Array<[string, string | null]> = [
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n', null],
    ['HTTP/1.0 404 Not Found\r\n\r\n', null],
    ['HTTP/1.1 204\r\n\r\n', null],
    ['HTTP/1.1 200 \r\n\r\n', null],
    ['HTTP/1.1 200 Ok\xe9 \t\r\nX: caf\xe9\r\nEmpty:\r\n\r\n', null],
    ['HTTP/1.1 599 Custom\r\n\r\n', null],
    ['HTTP/2.0 200 OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.2 200 OK\r\n\r\n', 'bad-status-line'],
    ['http/1.1 200 OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 2x0 OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1  200 OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 200OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 20\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 200 O\x00K\r\n\r\n', 'bad-status-line'],
    ['ICY 200 OK\r\n\r\n', 'bad-status-line'],
    ['garbage\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 099 Low\r\n\r\n', 'bad-status-code'],
    ['HTTP/1.1 600 High\r\n\r\n', 'bad-status-code'],
    ['HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n', 'obs-fold'],
    ['HTTP/1.1 200 OK\r\n\tX: a\r\n\r\n', 'obs-fold'],
    ['HTTP/1.1 200 OK\r\nX : a\r\n\r\n', 'bad-header-line'],
    ['HTTP/1.1 200 OK\r\nNo colon\r\n\r\n', 'bad-header-line'],
    ['HTTP/1.1 200 OK\r\n: empty name\r\n\r\n', 'bad-header-line'],
    ['HTTP/1.1 200 OK\r\nX(y): a\r\n\r\n', 'bad-header-line'],
    ['HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n', 'bad-header-value'],
    ['HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n', 'bad-header-value'],
    ['HTTP/1.1 200 OK\r\nX: a\x7fb\r\n\r\n', 'bad-header-value'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'conflicting-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n', 'conflicting-content-length'],
    [
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n',
      'content-length-and-transfer-encoding',
    ],
    [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n',
      'content-length-and-transfer-encoding',
    ],
  ];
  for (const [text, error] of rows) {
    const r = new ResponseHeadReader().push(Buffer.from(text, 'latin1'));
    assert.equal(r.state, 'done', text);
    if (r.state !== 'done') continue;
    assert.equal(r.facts.error, error, JSON.stringify(text));
  }
});

test('HTTP-node heads lose their hop-by-hop fields; the router says close itself', () => {
  const nodeHead = read(
    'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private, content-length\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Private: 1\r\nx-private: 2\r\nContent-Length: 2\r\nX-Kept: yes\r\n\r\n',
  );
  const kept = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Kept: yes\r\n';
  const ka = decideKeepalive(REQ, nodeHead.facts, OPTS);
  assert.equal(ka.keepalive, true);
  assert.equal(rewriteResponseHead(nodeHead.head, nodeHead.facts, ka, true).toString(), `${kept}\r\n`);
  const closing = decideKeepalive({ ...REQ, keepaliveEnabled: false }, nodeHead.facts, OPTS);
  assert.equal(
    rewriteResponseHead(nodeHead.head, nodeHead.facts, closing, true).toString(),
    `${kept}Connection: close\r\n\r\n`,
  );
  // the node's own "Connection: close" is about its connection: the client's stays open
  const nodeClose = read('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n');
  const p = decideKeepalive(REQ, nodeClose.facts, OPTS, true);
  assert.equal(p.keepalive, true);
  assert.equal(
    rewriteResponseHead(nodeClose.head, nodeClose.facts, p, true).toString(),
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n',
  );
  // ... and when the router closes, the close line is the router's
  const closed = decideKeepalive({ ...REQ, connectionClose: true }, nodeClose.facts, OPTS, true);
  assert.equal(
    rewriteResponseHead(nodeClose.head, nodeClose.facts, closed, true).toString(),
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n',
  );
  // the same head from a uwsgi node speaks to the client (spec §7): close
  assert.equal(decideKeepalive(REQ, nodeClose.facts, OPTS).keepalive, false);
  // an HTTP/1.0 node: kept alive, its status line sent as HTTP/1.1 (RFC 9110 §6.2)
  const v10 = read('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n');
  const p10 = decideKeepalive(REQ, v10.facts, OPTS, true);
  assert.equal(p10.keepalive, true);
  assert.equal(decideKeepalive(REQ, v10.facts, OPTS).keepalive, false, 'uwsgi node: HTTP/1.0 closes');
  assert.equal(
    rewriteResponseHead(v10.head, v10.facts, p10, true).toString(),
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n',
  );
  assert.equal(v10.head.toString('latin1', 0, 8), 'HTTP/1.0', 'the node head itself is left as read');
  // without framing the body runs until the node closes: chunked for the client (auto-chunked)
  const v10open = read('HTTP/1.0 200 OK\r\nX: y\r\n\r\n');
  const chunked = decideKeepalive(REQ, v10open.facts, { autoChunked: true, autoGzip: false }, true);
  assert.equal(chunked.keepalive, true);
  assert.equal(
    rewriteResponseHead(v10open.head, v10open.facts, chunked, true).toString(),
    'HTTP/1.1 200 OK\r\nX: y\r\nTransfer-Encoding: chunked\r\n\r\n',
  );
  assert.equal(decideKeepalive(REQ, v10open.facts, OPTS, true).keepalive, false, 'no framing: close');
  // nothing hop-by-hop and keepalive: the very same buffer
  const clean = read('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n');
  assert.equal(
    rewriteResponseHead(clean.head, clean.facts, decideKeepalive(REQ, clean.facts, OPTS), true),
    clean.head,
  );
  // an interim head gets no Connection: close
  const early = read('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\nConnection: keep-alive\r\n\r\n');
  assert.equal(
    rewriteResponseHead(early.head, early.facts, decideKeepalive(REQ, early.facts, OPTS), true).toString(),
    'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n',
  );
  // uwsgi nodes (spec §7): Keep-Alive passes while the router keeps the connection
  const uw = read(
    'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n',
  );
  assert.equal(rewriteResponseHead(uw.head, uw.facts, decideKeepalive(REQ, uw.facts, OPTS)), uw.head);
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
      'a held websocket upgrade refused: the connection goes on',
      { connectionUpgrade: true, upgrade: true },
      'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n',
      {},
      'ka - - - length',
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
