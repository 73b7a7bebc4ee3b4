import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Roster } from '../../src/corerouter/roster.ts';

test('roster: add, has, delete (swap-remove), idempotent, two rosters per object', () => {
  const r = new Roster<{ n: number }>();
  const other = new Roster<{ n: number }>();
  const xs = [0, 1, 2, 3].map((n) => ({ n }));
  for (const x of xs) r.add(x).add(x);
  other.add(xs[0]!);
  assert.equal(r.size, 4);
  assert.equal(r.delete(xs[1]!), true);
  assert.equal(r.delete(xs[1]!), false);
  assert.equal(r.has(xs[1]!), false);
  assert.equal(r.has(xs[3]!), true);
  assert.deepEqual([...r].map((x) => x.n).sort(), [0, 2, 3]);
  assert.equal(other.has(xs[0]!), true);
  assert.equal(other.has(xs[2]!), false);
  for (const x of r) r.delete(x); // snapshot iteration
  assert.equal(r.size, 0);
  assert.equal(other.size, 1);
  r.add(xs[1]!);
  assert.equal(r.at(0), xs[1]);
});
