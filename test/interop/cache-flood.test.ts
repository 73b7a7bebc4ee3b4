/**
 * 100k datagrams at a cache's UDP server (garbage, truncated, wrong sizes, oversized, values
 * past the blocksize, valid sets past the capacity, deletes) while uwrouter's HTTP router
 * routes a key of that cache to a real uWSGI node: every request is answered, every datagram
 * is counted once (applied, deleted, refused or not stored by reason), and the table holds
 * at most items − 1 keys. The memory bound is a load-lane check: test/load/cache-flood.load.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOOD_DATAGRAMS, ITEMS, runCacheFlood, type SyncCounters } from './cache-flood.ts';

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const accounted = (c: SyncCounters) =>
  c.applied + c.deleted + c.deleted_absent + sum(c.refused) + sum(c.not_stored);

test('100k bad and surplus sync datagrams: routing goes on, every datagram counted, the cache stays bounded', {
  timeout: 180000,
}, async () => {
  const run = await runCacheFlood();
  const received = run.after.received - run.before.received;
  const info = `${run.info} after=${JSON.stringify(run.after)}`;
  assert.ok(run.routerRunning, info);
  assert.deepEqual(run.failures, [], info);
  assert.ok(run.requests >= 50, info);
  assert.ok(received <= FLOOD_DATAGRAMS, info);
  assert.ok(received >= FLOOD_DATAGRAMS * 0.5, `received ${received} of ${FLOOD_DATAGRAMS}: ${info}`);
  assert.equal(accounted(run.after) - accounted(run.before), received, info);
  // slot 0 is reserved: items − 1 keys, the route among them
  assert.ok(run.items <= ITEMS - 1, info);
  assert.ok((run.after.not_stored.full ?? 0) > 0, `the valid sets found the cache full: ${info}`);
  assert.ok((run.after.not_stored['bad-value'] ?? 0) > 0, info);
  assert.ok((run.after.refused['bad-size'] ?? 0) + (run.after.refused.truncated ?? 0) > 0, info);
});
