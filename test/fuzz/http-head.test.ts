import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ChunkedBodyParser } from '../../src/http-router/chunked.ts';
import { decodePathInfo } from '../../src/http-router/path-info.ts';
import { buildRequestPacket } from '../../src/http-router/request-vars.ts';
import { ResponseHeadReader } from '../../src/http-router/response-head.ts';
import { isWebSocketUpgrade } from '../../src/http-router/websocket.ts';
import { HttpRequestHeadReader } from '../../src/protocol/http-request-head-reader.ts';
import { decodePacket } from '../../src/protocol/uwsgi.ts';

const MAX = 512;

/** split `buf` at the given (sorted, clamped) points */
function split(buf: Uint8Array, points: number[]): Buffer[] {
  const b = Buffer.from(buf);
  const cuts = [...new Set(points.map((p) => p % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(b.subarray(prev, c));
    prev = c;
  }
  out.push(b.subarray(prev));
  return out;
}

// bytes biased towards HTTP syntax so the fuzzer reaches the deep states
const httpish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '\r\n',
        '\r\n\r\n',
        ': ',
        ' ',
        'GET / HTTP/1.1\r\n',
        'Host: a\r\n',
        'Content-Length: 3\r\n',
        'Transfer-Encoding: chunked\r\n',
        '\n',
        '\r',
        '%',
        '/..',
        'PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n',
      ),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.from(parts.join(''), 'latin1'));

const input = fc.oneof(fc.uint8Array({ maxLength: 2048 }), httpish);

test('request-head reader: never throws, bounded, split-independent', () => {
  fc.assert(
    fc.property(input, fc.array(fc.nat(), { maxLength: 5 }), fc.boolean(), (bytes, points, proxy) => {
      const options = { maxHeadSize: MAX, proxyProtocol: proxy, chunkedInput: true };
      const whole = new HttpRequestHeadReader(options).push(Buffer.from(bytes));
      const reader = new HttpRequestHeadReader(options);
      let r: ReturnType<HttpRequestHeadReader['push']> = { state: 'need-more' };
      let offset = 0;
      for (const part of split(bytes, points)) {
        r = reader.push(part);
        assert.ok(reader.buffered <= MAX);
        if (r.state !== 'need-more') break;
        offset += part.length;
      }
      assert.equal(r.state, whole.state);
      if (r.state === 'error' && whole.state === 'error') assert.equal(r.reason, whole.reason);
      if (r.state === 'done' && whole.state === 'done') {
        assert.deepEqual(r.head, whole.head);
        assert.ok(r.head.headSize <= MAX);
        assert.ok(offset + r.rest.length <= bytes.length);
        // whatever parses also builds a packet that decodes cleanly, PATH_INFO included
        const p = buildRequestPacket(r.head, {
          serverName: 'vm',
          serverPort: '80',
          remoteAddr: '1.2.3.4',
          remotePort: 1,
        });
        assert.ok(p.ok);
        assert.equal(decodePacket(p.packet).error, undefined);
        isWebSocketUpgrade(r.head.headers);
      }
    }),
    { numRuns: 1500 },
  );
});

test('PATH_INFO decoder: never throws, never grows beyond input + 1', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      const latin1 = Buffer.from(s, 'utf8').toString('latin1');
      assert.ok(decodePathInfo(latin1).length <= latin1.length + 1);
    }),
    { numRuns: 2000 },
  );
});

test('chunked parser: never throws, split-independent', () => {
  const chunkish = fc
    .array(
      fc.oneof(
        fc.constantFrom('5\r\nhello\r\n', '0\r\n\r\n', '\r\n', ';x=y', 'A\r\n', 'X: y\r\n'),
        fc.string({ maxLength: 6 }),
      ),
      {
        maxLength: 20,
      },
    )
    .map((p) => Buffer.from(p.join(''), 'latin1'));
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 512 }), chunkish),
      fc.array(fc.nat(), { maxLength: 4 }),
      (bytes, points) => {
        const one = new ChunkedBodyParser({ maxLineSize: 64, maxTrailerSize: 64 }).push(Buffer.from(bytes));
        const p = new ChunkedBodyParser({ maxLineSize: 64, maxTrailerSize: 64 });
        let r: ReturnType<ChunkedBodyParser['push']> = { state: 'need-more' };
        let offset = 0;
        for (const part of split(bytes, points)) {
          r = p.push(part);
          if (r.state !== 'need-more') break;
          offset += part.length;
        }
        assert.equal(r.state, one.state);
        if (r.state === 'done' && one.state === 'done') assert.equal(offset + r.consumed, one.consumed);
      },
    ),
    { numRuns: 1500 },
  );
});

test('response-head reader: never throws, bounded', () => {
  fc.assert(
    fc.property(input, fc.array(fc.nat(), { maxLength: 5 }), (bytes, points) => {
      const reader = new ResponseHeadReader(MAX);
      for (const part of split(bytes, points)) {
        const r = reader.push(part);
        assert.ok(reader.buffered <= MAX);
        if (r.state !== 'need-more') break;
      }
    }),
    { numRuns: 1500 },
  );
});
