import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { ChunkReframer } from '../../src/http-router/chunk-reframer.ts';

/** Collects what the re-framer writes; `full` makes every write report a full buffer. */
function fakeBackend(full = false): { socket: Socket; out: () => string } {
  const parts: Buffer[] = [];
  const socket = {
    cork() {},
    uncork() {},
    write(d: Buffer) {
      parts.push(Buffer.from(d));
      return !full;
    },
  } as unknown as Socket;
  return { socket, out: () => Buffer.concat(parts).toString('latin1') };
}

test('the node gets canonical chunks: no extensions, whitespace, leading zeros or trailers; any split', () => {
  const input =
    '0005 ;a="b c";d\r\nhello\r\n1\t\r\n!\r\nA\r\n0123456789\r\n000\r\nX-T: 1\r\nContent-Length: 9\r\n\r\n';
  const want = '5\r\nhello\r\n1\r\n!\r\nA\r\n0123456789\r\n0\r\n\r\n';
  for (let a = 0; a <= input.length; a++) {
    for (const b of [a, Math.min(input.length, a + 3)]) {
      const { socket, out } = fakeBackend();
      const r = new ChunkReframer().begin(socket);
      for (const piece of [input.slice(0, a), input.slice(a, b), input.slice(b)])
        r.write(Buffer.from(piece, 'latin1'));
      // a payload split across reads comes out as several chunks: compare the decoded body
      const got = out();
      assert.ok(got.endsWith('0\r\n\r\n'), `split ${a}/${b}`);
      assert.equal(decode(got), 'hello!0123456789', `split ${a}/${b}`);
      assert.doesNotMatch(got, /[;\t ]|X-T|Content-Length/);
      if (a === 0 && b === 0) assert.equal(got, want);
    }
  }
});

test('reports a full node buffer; bytes after the last chunk are not written', () => {
  const { socket, out } = fakeBackend(true);
  const r = new ChunkReframer().begin(socket);
  assert.equal(r.write(Buffer.from('3\r\nabc\r\n')), false);
  assert.equal(r.write(Buffer.from('0\r\n\r\n')), false);
  assert.equal(r.write(Buffer.from('GET /next HTTP/1.1\r\n')), true);
  assert.equal(out(), '3\r\nabc\r\n0\r\n\r\n');
});

function decode(chunked: string): string {
  let body = '';
  let p = 0;
  for (;;) {
    const eol = chunked.indexOf('\r\n', p);
    const size = Number.parseInt(chunked.slice(p, eol), 16);
    if (size === 0) return body;
    body += chunked.slice(eol + 2, eol + 2 + size);
    p = eol + 2 + size + 2;
  }
}
