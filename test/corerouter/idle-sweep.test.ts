import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdleSweep, type IdleWatched } from '../../src/corerouter/idle-sweep.ts';

function watched(sweep: IdleSweep, timeoutMs: number): IdleWatched & { fired: number; bytes: number } {
  return {
    bytes: 0,
    fired: 0,
    get progress() {
      return this.bytes;
    },
    seenProgress: 0,
    lastTick: 0,
    idleTicks: sweep.ticksFor(timeoutMs),
    onIdle() {
      this.fired++;
    },
  };
}

test('an idle session ends after at least its timeout, at most one tick later', async () => {
  const sweep = new IdleSweep(IdleSweep.intervalFor(60));
  assert.equal(sweep.intervalMs, 30);
  const w = watched(sweep, 60);
  const t0 = Date.now();
  sweep.watch(w);
  while (w.fired === 0) await sleep(5);
  const waited = Date.now() - t0;
  assert.ok(waited >= 60 && waited < 200, `fired after ${waited} ms`);
  assert.equal(sweep.size, 0);
});

test('moving bytes re-arms the timeout; unwatch stops it; the timer stops when nothing is watched', async () => {
  const sweep = new IdleSweep(10);
  const busy = watched(sweep, 40);
  const gone = watched(sweep, 40);
  sweep.watch(busy);
  sweep.watch(gone);
  sweep.unwatch(gone);
  for (let i = 0; i < 10; i++) {
    busy.bytes++;
    await sleep(10);
  }
  assert.equal(busy.fired, 0);
  // once idle, it fires after its 40 ms (4 ticks); poll instead of guessing a sleep
  const idleSince = Date.now();
  while (busy.fired === 0 && Date.now() - idleSince < 2000) await sleep(5);
  assert.equal(busy.fired, 1);
  assert.ok(Date.now() - idleSince >= 30, 'not before its idle time');
  assert.equal(gone.fired, 0);
  assert.equal(sweep.size, 0);
});

test('no timeout: the sweep ticks once a second', () => {
  assert.equal(IdleSweep.intervalFor(0), 1000);
  assert.equal(IdleSweep.intervalFor(60_000), 1000);
  assert.equal(new IdleSweep(1000).ticksFor(60_000), 61);
});
