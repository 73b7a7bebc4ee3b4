/**
 * A reload that changes the subscription settings builds a new subscription system
 * (src/cluster/router-runtime.ts buildSubscribed): the table moves over (nodes need not
 * re-announce) and so does the replay memory — a signed packet captured before the reload is
 * still a replay after it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSubscribed } from '../../src/cluster/router-runtime.ts';
import type { SubscriptionSystemOptions } from '../../src/subscription/system.ts';
import { captureLogger, keyDir, signedPacket } from '../subscription/harness.ts';

test('a rebuilt subscription system keeps the table and refuses a replay of a packet accepted before', async () => {
  const dir = keyDir('r.example');
  const settings: SubscriptionSystemOptions = {
    router: 'http',
    logger: captureLogger().logger,
    servers: [],
    signChecks: [{ digest: 'sha256', dir }],
    sweepIntervalMs: 0,
  };
  const before = buildSubscribed(settings);
  const now = Math.floor(Date.now() / 1000);
  const captured = signedPacket('subscribe', { key: 'r.example', address: '127.0.0.1:7001' }, now);
  assert.equal(before.system.receiver.handle(captured).ok, true);
  const after = buildSubscribed({ ...settings, tolerance: 60 }, before);
  assert.notEqual(after.fingerprint, before.fingerprint);
  assert.deepEqual(
    [...after.system.table.pools.values()].map((p) => [
      p.key,
      p.nodes.map((n) => n.name),
      p.publicKey !== undefined,
    ]),
    [['r.example', ['127.0.0.1:7001'], true]],
  );
  const replay = after.system.receiver.handle(captured);
  assert.equal(replay.ok, false);
  assert.equal(replay.ok ? '' : replay.reason, 'replay');
  // a newer announce from the node is accepted (a refresh)
  const fresh = signedPacket('subscribe', { key: 'r.example', address: '127.0.0.1:7001' }, now + 1);
  assert.equal(after.system.receiver.handle(fresh).ok, true);
  await before.system.close();
  await after.system.close();
});
