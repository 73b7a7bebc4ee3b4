/**
 * Load lane for the slowloris scenario (functional half: test/http-router/session-slow.test.ts):
 * normal clients stay fast under 200 trickling connections, and the slow heads go at the
 * deadline, not long after.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADERS_TIMEOUT_S, runSlowloris } from '../http-router/slowloris.ts';
import { SLOWLORIS_DEADLINE_LATE_MAX_MS, SLOWLORIS_NORMAL_REQUEST_MAX_MS } from './margins.ts';

test('slowloris: normal requests stay fast, slow heads close on time', async () => {
  const run = await runSlowloris();
  const slowest = Math.max(...run.normalMs);
  assert.ok(
    slowest < SLOWLORIS_NORMAL_REQUEST_MAX_MS,
    `slowest normal request ${slowest.toFixed(1)} ms (margin ${SLOWLORIS_NORMAL_REQUEST_MAX_MS})`,
  );
  // the normal requests were all done before any deadline
  assert.equal(run.closedDuringNormal, 0);
  // each head from its own connect (NaN if one never connected, which fails too)
  const longest = Math.max(...run.openMs);
  const limit = HEADERS_TIMEOUT_S * 1000 + SLOWLORIS_DEADLINE_LATE_MAX_MS;
  assert.ok(longest < limit, `a slow head stayed open ${longest.toFixed(0)} ms (limit ${limit})`);
});
