/**
 * Bad TLS clients against a real uwrouter sslrouter process (functional half; the timing and
 * memory bounds are in test/load/sslrouter-handshakes.load.test.ts): 500 half-done
 * handshakes, 100 garbage connections and a 300-byte server name. The router stays up, a
 * normal client is served meanwhile, everything is counted, the log stays bounded, and every
 * half-done handshake is closed by the router at its deadline (`--ssl-handshake-timeout`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { readStatsJson } from './harness/index.ts';
import { GARBAGE, HALF_DONE, normalRequest, runHalfDoneFlood, type TlsStats } from './sslrouter-flood.ts';

test('500 half-done handshakes, garbage and a 300-byte name: served meanwhile, counted, closed at the deadline', {
  timeout: 60_000,
}, async () => {
  // the deadline must outlast setting up the crowd on a loaded 2-core machine (several s)
  const run = await runHalfDoneFlood({ handshakeTimeoutS: 10 });
  assert.equal(run.normalMs.length, 10, 'every normal request was answered');
  assert.equal(run.during.tls.handshakes_in_progress, HALF_DONE);
  assert.deepEqual(run.during.tls.handshake_failures, {
    'not-tls': GARBAGE,
    'bad-server-name': 1,
    // the harness's readiness probe: connected, closed without a byte (counted, never logged)
    'closed-before-hello': 1,
  });
  assert.equal(run.isRunning(), true);
  // the router closes every half-done handshake itself, at its deadline
  const closedAt = Date.now();
  await Promise.all(run.crowd.map((s) => (s.destroyed ? undefined : once(s, 'close'))));
  const waited = Date.now() - closedAt;
  assert.ok(waited < 13_000, `the crowd was closed ${waited} ms after the normal requests`);
  const after = await readStatsJson<TlsStats>(run.statsPort);
  assert.equal(after.tls.handshakes_in_progress, 0);
  assert.equal(after.tls.handshake_failures.timeout, HALF_DONE);
  assert.equal(after.active_sessions, 0);
  // one line per failure at most, bounded per second: far fewer lines than failures
  const lines = run
    .logs()
    .split('\n')
    .filter((l) => l.includes('TLS handshake failed'));
  assert.ok(lines.length > 0 && lines.length < 150, `${lines.length} failure lines for 601 failures`);
  assert.match(run.logs(), /more TLS handshake failure lines suppressed before this one/);
  // and afterwards it still serves
  await normalRequest(run.port);
});
