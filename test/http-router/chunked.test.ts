import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkedBodyParser, chunkHeader, frameChunk, LAST_CHUNK } from '../../src/http-router/chunked.ts';

test('encoder: uppercase hex, CRLF framing, no copy, no empty chunk', () => {
  assert.equal(chunkHeader(15).toString(), 'F\r\n');
  assert.equal(chunkHeader(0xabc).toString(), 'ABC\r\n');
  assert.equal(chunkHeader(65536).toString(), '10000\r\n');
  const payload = Buffer.from('hello world, a chunk!');
  const parts = frameChunk(payload);
  assert.equal(parts[1], payload); // the payload itself, not a copy
  assert.equal(Buffer.concat(parts).toString(), '15\r\nhello world, a chunk!\r\n');
  assert.deepEqual(frameChunk(Buffer.alloc(0)), []);
  assert.equal(LAST_CHUNK.toString(), '0\r\n\r\n');
});

const BODY = '5\r\nhello\r\nA;ext=1;q="x"\r\n0123456789\r\n1 \r\n!\r\n0\r\nX-Trailer: t\r\n\r\nNEXT';

function feed(parser: ChunkedBodyParser, parts: Buffer[]): { consumedTotal: number; state: string } {
  let offset = 0;
  for (const part of parts) {
    const r = parser.push(part);
    if (r.state === 'done') return { consumedTotal: offset + r.consumed, state: 'done' };
    if (r.state === 'error') return { consumedTotal: offset, state: `error ${r.reason}` };
    offset += part.length;
  }
  return { consumedTotal: offset, state: 'need-more' };
}

test('parser: every split point, payload and end found', () => {
  const whole = Buffer.from(BODY, 'latin1');
  const bodyEnd = BODY.indexOf('NEXT');
  for (let a = 0; a <= whole.length; a++) {
    for (let b = a; b <= whole.length; b += 5) {
      const data: Buffer[] = [];
      const parser = new ChunkedBodyParser({ onData: (d) => data.push(Buffer.from(d)) });
      const r = feed(parser, [whole.subarray(0, a), whole.subarray(a, b), whole.subarray(b)]);
      assert.equal(r.state, 'done', `split ${a}/${b}`);
      assert.equal(r.consumedTotal, bodyEnd);
      assert.equal(Buffer.concat(data).toString(), 'hello0123456789!');
      assert.equal(parser.bodyBytes, 16);
      assert.ok(parser.done);
    }
  }
  // byte by byte
  const p = new ChunkedBodyParser();
  const r = feed(
    p,
    [...whole].map((b) => Buffer.from([b])),
  );
  assert.equal(r.state, 'done');
  assert.equal(r.consumedTotal, bodyEnd);
});

test('parser: malformed and oversized input', () => {
  const bad: ReadonlyArray<readonly [string, string, ConstructorParameters<typeof ChunkedBodyParser>[0]?]> = [
    ['x\r\n', 'error bad-chunk-size'],
    ['\r\n', 'error bad-chunk-size'],
    [' 5\r\n', 'error bad-chunk-size'],
    ['5\n', 'error bare-lf'],
    ['5\rx', 'error missing-chunk-crlf'],
    ['5\r\nhelloX', 'error missing-chunk-crlf'],
    ['5\r\nhello\rX', 'error missing-chunk-crlf'],
    ['5 x\r\n', 'error bad-chunk-size'],
    ['5;a\x00\r\n', 'error bad-chunk-extension'],
    ['FFFFFFFFFFFFFF\r\n', 'error chunk-size-too-large'],
    [`5;${'e'.repeat(5000)}`, 'error chunk-line-too-long'],
    ['0\r\n\n', 'error bare-lf'],
    ['0\r\n folded\r\n\r\n', 'error bad-trailer'],
    ['0\r\nX: y\n', 'error bare-lf'],
    [`0\r\nX: ${'y'.repeat(200)}\r\n\r\n`, 'error trailer-too-large', { maxTrailerSize: 100 }],
    ['5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n', 'error body-too-large', { maxBodySize: 10 }],
  ];
  for (const [text, want, options] of bad) {
    assert.equal(
      feed(new ChunkedBodyParser(options), [Buffer.from(text, 'latin1')]).state,
      want,
      JSON.stringify(text),
    );
  }
  const p = new ChunkedBodyParser({ maxBodySize: 10 });
  const r = p.push(Buffer.from('B\r\n'));
  assert.ok(r.state === 'error' && r.status === 413 && r.code === 'UWR_ERR_BODY_TOO_LARGE');
  const ok = feed(new ChunkedBodyParser(), [Buffer.from('000000000000000000005\r\nhello\r\n0\r\n\r\n')]);
  assert.equal(ok.state, 'done');
  const p2 = new ChunkedBodyParser();
  p2.push(Buffer.from('0\r\n\r\n'));
  p2.reset();
  assert.equal(p2.push(Buffer.from('1\r\n')).state, 'need-more');
});
