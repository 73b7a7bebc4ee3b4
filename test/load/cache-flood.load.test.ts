/**
 * Load lane for the cache sync flood (functional half: test/interop/cache-flood.test.ts):
 * 100k datagrams at a cache's UDP server leave the router's memory bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOOD_DATAGRAMS, runCacheFlood } from '../interop/cache-flood.ts';
import { CACHE_FLOOD_RSS_GROWTH_MAX_BYTES } from './margins.ts';

test('100k datagrams at a cache UDP server: the router RSS stays bounded', { timeout: 180000 }, async () => {
  const run = await runCacheFlood();
  const received = run.after.received - run.before.received;
  // a flood the kernel mostly dropped would measure nothing (the functional test asks the same)
  assert.ok(received >= FLOOD_DATAGRAMS * 0.5, `received ${received} of ${FLOOD_DATAGRAMS}: ${run.info}`);
  const grown = Math.max(run.rssMid, run.rssAfter) - run.rssBefore;
  assert.ok(
    grown < CACHE_FLOOD_RSS_GROWTH_MAX_BYTES,
    `RSS grew by ${(grown / 1048576).toFixed(1)} MiB (margin ${CACHE_FLOOD_RSS_GROWTH_MAX_BYTES / 1048576} MiB): ${run.info}`,
  );
});
