/**
 * Issue item 0c — signed subscriptions could be replayed (spec: subscription.md §4, spec
 * README item 4): a captured subscribe re-added its node after the node's own unsubscribe, a
 * captured unsubscribe could be replayed, a subscribe with byte 3 flipped was an accepted
 * unsubscribe. And every packet a real node sends must still pass: the sequence below is the
 * one uWSGI 2.0.21 sent (announce T, T+1; SIGINT → unsubscribe unix T+3; restarted at once →
 * announce T+3, the same second as its unsubscribe; SIGINT → unsubscribe T+5).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignedHistory } from '../../src/subscription/replay.ts';
import { keyDir, makeSignedTable, signedPacket } from './harness.ts';

const node = { key: 'k.example.com', address: '127.0.0.1:3031', cores: 1 };

function signedSetup() {
  const s = makeSignedTable(keyDir('k.example.com'));
  const handle = (b: Buffer): string => {
    const r = s.receiver.handle(b);
    return r.ok ? r.result : r.reason;
  };
  const nodes = () => s.table.pools.get('k.example.com')?.nodes.map((n) => n.name) ?? [];
  return { ...s, handle, nodes };
}

test('a captured subscribe does not re-add its node after the node unsubscribed', () => {
  const s = signedSetup();
  const t = s.clock.t;
  const captured = signedPacket('subscribe', node, t);
  assert.equal(s.handle(captured), 'new-pool');
  s.clock.t = t + 2;
  assert.equal(s.handle(signedPacket('unsubscribe', node, t + 2)), 'unsubscribe');
  assert.deepEqual(s.nodes(), []);
  for (const dt of [3, 60, 3600]) {
    s.clock.t = t + dt;
    assert.equal(s.handle(captured), 'replay', `${dt} s later`);
  }
  assert.equal(s.table.pools.size, 0);
});

test('a captured unsubscribe is not accepted twice, nor after the node came back', () => {
  const s = signedSetup();
  const t = s.clock.t;
  assert.equal(s.handle(signedPacket('subscribe', node, t)), 'new-pool');
  s.clock.t = t + 5;
  const unsub = signedPacket('unsubscribe', node, t + 5); // unix t+6
  assert.equal(s.handle(unsub), 'unsubscribe');
  s.clock.t = t + 20;
  assert.equal(s.handle(signedPacket('subscribe', node, t + 20)), 'new-pool');
  assert.equal(s.handle(unsub), 'replay');
  assert.deepEqual(s.nodes(), [node.address]);
});

test('flipping byte 3 of a captured announce does not make an unsubscribe', () => {
  const s = signedSetup();
  const t = s.clock.t;
  const announce = signedPacket('subscribe', node, t);
  assert.equal(s.handle(announce), 'new-pool');
  const flipped = Buffer.from(announce);
  flipped[3] = 1;
  assert.equal(s.handle(flipped), 'replay');
  // also a later announce, flipped after it was accepted
  s.clock.t = t + 10;
  const later = signedPacket('subscribe', node, t + 10);
  assert.equal(s.handle(later), 'refresh');
  const flippedLater = Buffer.from(later);
  flippedLater[3] = 1;
  assert.equal(s.handle(flippedLater), 'replay');
  assert.deepEqual(s.nodes(), [node.address]);
});

test('every packet of the real uWSGI sequence is accepted (announce twice, stop, restart in the same second)', () => {
  const s = signedSetup();
  const t = s.clock.t;
  const steps: Array<[number, 'subscribe' | 'unsubscribe', number, string]> = [
    // [router clock, command, node clock (encoder adds +1 for unsubscribe), expected]
    [t, 'subscribe', t, 'new-pool'],
    [t + 1, 'subscribe', t + 1, 'refresh'],
    [t + 2, 'unsubscribe', t + 2, 'unsubscribe'], // unix t+3
    [t + 3, 'subscribe', t + 3, 'new-pool'], // restarted: unix t+3 = its unsubscribe's
    [t + 4, 'subscribe', t + 4, 'refresh'],
    [t + 4, 'unsubscribe', t + 4, 'unsubscribe'], // unix t+5, the same second as the last announce
    [t + 6, 'subscribe', t + 6, 'new-pool'],
    [t + 16, 'subscribe', t + 16, 'refresh'],
  ];
  for (const [now, cmd, nodeNow, expected] of steps) {
    s.clock.t = now;
    assert.equal(s.handle(signedPacket(cmd, node, nodeNow)), expected, `${cmd} at +${now - t}`);
  }
  // a node whose clock is a few seconds off the router's
  const skewed = { ...node, address: '127.0.0.1:4000' };
  assert.equal(s.handle(signedPacket('subscribe', skewed, t + 16 - 30)), 'new-node');
  assert.equal(s.handle(signedPacket('subscribe', skewed, t + 16 - 20)), 'refresh');
  assert.equal(s.handle(signedPacket('unsubscribe', skewed, t + 16 - 19)), 'unsubscribe');
});

test('SignedHistory: records expire after the tolerance; the bound raises a floor instead of forgetting', () => {
  const h = new SignedHistory({ tolerance: 100, maxEntries: 2 });
  h.acceptSubscribe('a', 1000, 1000);
  h.acceptSubscribe('b', 1010, 1010);
  assert.equal(h.checkSubscribe('a', 1000, 1020), 'replay');
  // a third pair forgets the least recently updated one (a), whose newest unix becomes the floor
  h.acceptSubscribe('c', 1020, 1020);
  assert.equal(h.size, 2);
  assert.equal(h.checkSubscribe('a', 1000, 1021), 'replay', 'still refused after being forgotten');
  assert.equal(h.checkUnsubscribe('a', 1000, 1021), 'replay');
  assert.equal(h.checkSubscribe('a', 1021, 1021), null, 'a newer packet of a forgotten pair passes');
  assert.equal(h.checkSubscribe('new', 1021, 1021), null);
  // expiry: both timestamps older than now − tolerance; a replay of them is too-old anyway
  h.expire(1111);
  assert.equal(h.size, 1);
  assert.equal(h.checkSubscribe('b', 1010, 1111), 'too-old');
  h.expire(1121);
  assert.equal(h.size, 0);
});

test('SignedHistory: memory stays bounded under many signed pairs', () => {
  const h = new SignedHistory({ tolerance: 86400, maxEntries: 1000 });
  for (let i = 0; i < 50_000; i++)
    h.acceptSubscribe(`k${i}\u0000127.0.0.1:1`, 5000 + (i >> 4), 5000 + (i >> 4));
  assert.equal(h.size, 1000);
  // the oldest pairs are forgotten but their packets are still refused
  assert.equal(h.checkSubscribe('k0\x00127.0.0.1:1', 5000, 8200), 'replay');
});
