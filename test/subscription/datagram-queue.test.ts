/**
 * Issue item 6 — datagrams are read apart from processing: in order, in batches between
 * loop turns, reads first while they come at full speed, bounded with drops counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { DatagramQueue } from '../../src/subscription/datagram-queue.ts';

const d = (i: number) => Buffer.from(String(i));

test('every datagram is handled once, in order, off the read', async () => {
  const seen: string[] = [];
  const q = new DatagramQueue((b) => seen.push(b.toString()));
  for (let i = 0; i < 5000; i++) q.push(d(i));
  assert.equal(seen.length, 0, 'nothing is processed on the read itself');
  while (q.length > 0) await turn();
  await turn();
  assert.deepEqual(
    seen,
    Array.from({ length: 5000 }, (_, i) => String(i)),
  );
});

test('a turn that read at libuv’s per-wakeup cap (32) processes one; a quiet turn a batch', async () => {
  let handled = 0;
  const q = new DatagramQueue(() => handled++);
  for (let i = 0; i < 32; i++) q.push(d(i));
  await turn();
  assert.equal(handled, 1, 'busy turn: reads first');
  q.push(d(99)); // a quiet turn: one read
  await turn();
  assert.equal(handled, 33, 'quiet turn: everything queued');
});

test('bounded: past maxQueued a datagram is dropped and counted', async () => {
  let handled = 0;
  const q = new DatagramQueue(() => handled++, 100);
  for (let i = 0; i < 250; i++) q.push(d(i));
  assert.equal(q.length, 100);
  assert.equal(q.dropped, 150);
  while (q.length > 0) await turn();
  assert.equal(handled, 100);
  q.push(d(1));
  await turn();
  await turn();
  assert.equal(handled, 101, 'usable again once drained');
});
