/**
 * Load lane for bad TLS clients (functional half: test/interop/sslrouter-hygiene.test.ts):
 * with 500 half-done handshakes, garbage and a 300-byte server name thrown at the sslrouter,
 * a normal client is still served in under a second, and the crowd's memory is bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runHalfDoneFlood } from '../interop/sslrouter-flood.ts';
import { SSL_HALF_DONE_NORMAL_REQUEST_MAX_MS, SSL_HALF_DONE_RSS_GROWTH_MAX_BYTES } from './margins.ts';

test('500 half-done handshakes: a normal TLS client is served in under a second, memory bounded', {
  timeout: 120_000,
}, async () => {
  const run = await runHalfDoneFlood({ handshakeTimeoutS: 30 });
  const slowest = Math.max(...run.normalMs);
  assert.ok(
    slowest < SSL_HALF_DONE_NORMAL_REQUEST_MAX_MS,
    `slowest normal request ${slowest.toFixed(1)} ms (all: ${run.normalMs.map((m) => m.toFixed(1)).join(', ')})`,
  );
  const grown = run.rssWith - run.rssBefore;
  assert.ok(
    grown < SSL_HALF_DONE_RSS_GROWTH_MAX_BYTES,
    `RSS grew by ${(grown / 1048576).toFixed(1)} MiB for the crowd (margin ${SSL_HALF_DONE_RSS_GROWTH_MAX_BYTES / 1048576} MiB)`,
  );
  for (const s of run.crowd) s.destroy();
});
