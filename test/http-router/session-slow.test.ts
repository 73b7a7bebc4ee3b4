import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyOf, noSessionsLeft } from './fakes.ts';
import { HEADERS_TIMEOUT_S, NORMAL_REQUESTS, runSlowloris, SLOW_CLIENTS } from './slowloris.ts';

// How fast normal clients are served meanwhile, and how soon after the deadline the slow
// heads go, are load-lane bounds: test/load/session-slow.load.test.ts.
test('slowloris: 200 trickling connections; normal clients are served; the head deadline is absolute', async () => {
  const run = await runSlowloris();
  assert.deepEqual(
    run.normalAnswers.map(bodyOf),
    Array.from({ length: NORMAL_REQUESTS }, () => 'fast'),
  );
  // every slow head was closed although it kept sending (runSlowloris waits for all), and
  // none before the deadline (armed at accept, after the clock started; 5 ms for the loop
  // clock's whole-ms rounding)
  assert.equal(run.closedAtMs.length, SLOW_CLIENTS);
  const first = Math.min(...run.closedAtMs);
  assert.ok(first >= HEADERS_TIMEOUT_S * 1000 - 5, `first slow head closed after ${first} ms`);
  assert.equal(run.router.router.counters.get('UWR_ERR_TIMEOUT'), SLOW_CLIENTS);
  await noSessionsLeft(run.router);
});
