/**
 * Load lane: what a stored chunked body costs in memory when the client frames it as
 * badly as it can (one payload byte per chunk). Bound and reason: margins.ts.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { StoredRequestBody } from '../../src/corerouter/stored-body.ts';
import { chunkedFraming } from '../../src/http-router/stored-body.ts';
import { STORED_BODY_HELD_BYTES } from './margins.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function held(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

test('stored bodies framed one byte per chunk hold about their payload, not an object per chunk', () => {
  const client = { pause() {}, resume() {} } as unknown as Socket;
  const owner = { bodyStored() {}, bodyStoreFailed() {} };
  const wire = Buffer.from('1\r\na\r\n'.repeat(10000), 'latin1');
  const before = held();
  const bodies: StoredRequestBody[] = [];
  for (let i = 0; i < 200; i++) {
    const b = new StoredRequestBody(
      client,
      owner,
      { memoryLimit: 65536, dir: tmpdir() },
      chunkedFraming(1 << 30),
    );
    // a copy per body: what one socket read of a framing-heavy upload looks like
    b.push(Buffer.from(wire));
    bodies.push(b);
  }
  const grown = held() - before;
  assert.equal(bodies[199]!.size, 10000);
  assert.ok(
    grown < STORED_BODY_HELD_BYTES,
    `200 stored bodies of 10000 bytes hold ${(grown / 1048576).toFixed(1)} MiB`,
  );
  for (const b of bodies) b.discard();
});
