import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { ChunkedBodyParser } from '../../src/http-router/chunked.ts';
import { GZIP_HEADER, GzipChunkedEncoder } from '../../src/http-router/gzip-stream.ts';

function dechunk(wire: Buffer): { body: Buffer; chunks: Buffer[]; rest: number } {
  const chunks: Buffer[] = [];
  const parser = new ChunkedBodyParser({ onData: (d) => chunks.push(Buffer.from(d)) });
  const r = parser.push(wire);
  assert.equal(r.state, 'done');
  return { body: Buffer.concat(chunks), chunks, rest: wire.length - (r.state === 'done' ? r.consumed : 0) };
}

async function encode(pieces: Buffer[]): Promise<{ wire: Buffer; perWrite: Buffer[][] }> {
  const enc = new GzipChunkedEncoder();
  const perWrite: Buffer[][] = [];
  const out: Buffer[] = [];
  for (const p of pieces) {
    const w = await enc.write(p);
    perWrite.push(w);
    out.push(...w);
  }
  out.push(...(await enc.end()));
  return { wire: Buffer.concat(out), perWrite };
}

test('gzip: decodes to the input, uWSGI layout', async () => {
  const pieces = [
    Buffer.from('hello '.repeat(100)),
    Buffer.alloc(0),
    randomBytes(70000),
    Buffer.from('tail'),
  ];
  const { wire, perWrite } = await encode(pieces);
  assert.ok(wire.subarray(-5).equals(Buffer.from('0\r\n\r\n')));
  const { body, rest } = dechunk(wire);
  assert.equal(rest, 0);
  assert.ok(body.subarray(0, 10).equals(GZIP_HEADER));
  assert.deepEqual(gunzipSync(body), Buffer.concat(pieces));
  // an empty input piece produces no chunk; every other write produces exactly one
  assert.equal(perWrite[1].length, 0);
  assert.equal(perWrite[0].length, 3);
  assert.equal(perWrite[2].length, 3);
});

test('gzip: each write is sync-flushed (decodable on its own prefix)', async () => {
  const enc = new GzipChunkedEncoder();
  const first = Buffer.concat(await enc.write(Buffer.from('first piece of the body')));
  const { body } = dechunkPartial(first);
  // strip the gzip header: the raw deflate prefix inflates to the first piece
  const inflated = inflateRawSync(body.subarray(10), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
  assert.equal(inflated.toString(), 'first piece of the body');
  await enc.end();
});

test('gzip: empty body still yields a valid gzip member', async () => {
  const { wire } = await encode([]);
  const { body } = dechunk(wire);
  assert.equal(gunzipSync(body).length, 0);
});

test('gzip: concurrent writes are serialised in order; destroy is safe', async () => {
  const enc = new GzipChunkedEncoder();
  const a = enc.write(Buffer.from('a'.repeat(1000)));
  const b = enc.write(Buffer.from('b'.repeat(1000)));
  const c = enc.end();
  const wire = Buffer.concat([...(await a), ...(await b), ...(await c)]);
  assert.equal(gunzipSync(dechunk(wire).body).toString(), `${'a'.repeat(1000)}${'b'.repeat(1000)}`);
  assert.deepEqual(await enc.write(Buffer.from('late')), []);
  const d = new GzipChunkedEncoder();
  d.destroy();
});

function dechunkPartial(wire: Buffer): { body: Buffer } {
  const chunks: Buffer[] = [];
  new ChunkedBodyParser({ onData: (d) => chunks.push(Buffer.from(d)) }).push(wire);
  return { body: Buffer.concat(chunks) };
}
