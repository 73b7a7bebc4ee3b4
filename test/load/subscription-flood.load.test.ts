/**
 * Load lane for the subscription flood (functional half: test/interop/subscription-flood.test.ts):
 * 100k bad datagrams leave the router's memory bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOOD_DATAGRAMS, runSubscriptionFlood } from '../interop/subscription-flood.ts';
import { SUBSCRIPTION_FLOOD_RSS_GROWTH_MAX_BYTES } from './margins.ts';

test('100k bad datagrams at a signed subscription server: the router RSS stays bounded', {
  timeout: 120000,
}, async () => {
  const run = await runSubscriptionFlood();
  const received = run.after.subscription_packets.datagrams - run.before.subscription_packets.datagrams;
  // a flood the kernel mostly dropped would measure nothing (the functional test asks the same)
  assert.ok(received >= FLOOD_DATAGRAMS * 0.5, `received ${received} of ${FLOOD_DATAGRAMS}: ${run.info}`);
  const grown = Math.max(run.rssMid, run.rssAfter) - run.rssBefore;
  assert.ok(
    grown < SUBSCRIPTION_FLOOD_RSS_GROWTH_MAX_BYTES,
    `RSS grew by ${(grown / 1048576).toFixed(1)} MiB (margin ${SUBSCRIPTION_FLOOD_RSS_GROWTH_MAX_BYTES / 1048576} MiB): ${run.info}`,
  );
});
