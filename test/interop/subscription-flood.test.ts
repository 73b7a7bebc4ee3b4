/**
 * A flood of 100k bad datagrams at a signed subscription server (spec: subscription.md §2,
 * §4) while nginx → uwrouter fastrouter keeps routing a key a real uWSGI node subscribed
 * with a SHA256 signature: every request is answered and the packets are counted by reject
 * reason in the stats. The router's memory bound is a load-lane check:
 * test/load/subscription-flood.load.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOOD_DATAGRAMS, KEY, NODE_SUBSCRIBE_FREQ_S, runSubscriptionFlood } from './subscription-flood.ts';

test('100k bad datagrams at a signed subscription server: routing goes on, every packet counted by reason', {
  timeout: 120000,
}, async () => {
  const run = await runSubscriptionFlood();
  const { before, after } = run;
  const delta = (k: string) =>
    after.subscription_packets.rejected[k]! - before.subscription_packets.rejected[k]!;
  const accepted = (k: string) =>
    after.subscription_packets.accepted[k]! - before.subscription_packets.accepted[k]!;
  const received = after.subscription_packets.datagrams - before.subscription_packets.datagrams;
  const rejected = Object.fromEntries(
    Object.keys(after.subscription_packets.rejected).map((k) => [k, delta(k)]),
  );
  const acceptedByKind = Object.fromEntries(
    Object.keys(after.subscription_packets.accepted).map((k) => [k, accepted(k)]),
  );
  const totalRejected = Object.values(rejected).reduce((a, b) => a + b, 0);
  const totalAccepted = Object.values(acceptedByKind).reduce((a, b) => a + b, 0);
  const info = `${run.info} rejected=${JSON.stringify(rejected)} accepted=${JSON.stringify(acceptedByKind)}`;

  assert.deepEqual(run.failures, [], info);
  assert.ok(run.requests >= 50, info);
  assert.ok(run.routerRunning);
  // every datagram that arrived is counted once, accepted or under one reject reason
  assert.equal(totalAccepted + totalRejected, received, info);
  // nothing of the flood got in: no pool, node or removal; the refreshes are the real node's
  // own announcements (one per --subscribe-freq during the stats window, + 2 for the edges)
  // and the unknown-node unsubscribes are random bytes with byte 3 ≠ 0 (no effect)
  assert.deepEqual([accepted('new-pool'), accepted('new-node'), accepted('unsubscribe')], [0, 0, 0], info);
  const ownAnnouncements = accepted('refresh');
  assert.ok(ownAnnouncements <= run.windowMs / (NODE_SUBSCRIBE_FREQ_S * 1000) + 2, info);
  const flood = received - ownAnnouncements;
  assert.ok(flood <= FLOOD_DATAGRAMS, info);
  // loopback UDP drops what does not fit the router's socket buffer when the machine is busy
  // (uWSGI does too); at least half must have arrived for the proportions below to mean much
  assert.ok(flood >= FLOOD_DATAGRAMS * 0.5, `received ${flood} of ${FLOOD_DATAGRAMS}: ${info}`);
  // the categories are interleaved evenly, so each deterministic kind shows under its own
  // reason in proportion: 20% bad signatures, 15% replays, 15% unsigned
  assert.ok(delta('bad-signature') >= 0.2 * received * 0.8, info);
  assert.ok(delta('replay') >= 0.15 * received * 0.8, info);
  assert.ok(delta('unsigned') >= 0.15 * received * 0.8, info);
  assert.ok(delta('bad-packet') + delta('no-key') + delta('bad-address') >= 0.2 * received, info);
  // the real node is the only node of its pool
  assert.deepEqual(
    after.subscriptions.find((p) => p.key === KEY)?.nodes.map((n) => n.name),
    [run.nodeAddress],
    info,
  );
});
