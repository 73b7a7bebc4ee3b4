/**
 * The sealed cache sync packet (uwrouter extension): a sealed packet opens to the plain
 * uWSGI packet under the same secret and AEAD; a tampered byte anywhere, a replay, an old or
 * future timestamp, another secret, a plain uWSGI packet: all refused, each for its reason.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SEALED_MAX_SKEW_MS, SealedChannel } from '../../src/cache/sealed-channel.ts';
import {
  deriveSealingKeys,
  readSealedHeader,
  SEALED_HEADER_SIZE,
  SEALED_TAG_SIZE,
  type SealedAead,
} from '../../src/protocol/cache-sync-sealed.ts';

const PLAIN = readFileSync(resolve(import.meta.dirname, '../fixtures/cache/cache-udp-set-ttl300.bin'));
const KEYS = deriveSealingKeys(Buffer.from('0123456789abcdef0123456789abcdef'));
const OTHER = deriveSealingKeys(Buffer.from('0123456789abcdef0123456789abcdeX'));

class Clock {
  ms = 1_800_000_000_000;
  readonly read = () => this.ms;
}

function pair(aead: SealedAead = 'aes-256-gcm', receiverKeys = KEYS) {
  const clock = new Clock();
  return {
    clock,
    sender: new SealedChannel(KEYS, aead, clock.read),
    receiver: new SealedChannel(receiverKeys, 'aes-256-gcm', clock.read),
  };
}

const reason = (r: ReturnType<SealedChannel['open']>) => (r.ok ? 'ok' : r.reason);

describe('sealed cache sync packets', () => {
  for (const aead of ['aes-256-gcm', 'chacha20-poly1305'] as const) {
    test(`${aead}: a sealed packet opens to the plain uWSGI packet, and its plaintext is not visible`, () => {
      const { sender, receiver } = pair(aead);
      const sealed = sender.seal(PLAIN);
      assert.equal(sealed.length, SEALED_HEADER_SIZE + PLAIN.length + SEALED_TAG_SIZE);
      assert.notEqual(sealed[0], 111, 'a uWSGI receiver ignores it (byte 0 ≠ 111)');
      assert.equal(sealed.indexOf('ttlkey'), -1);
      assert.equal(sealed.indexOf('hello'), -1);
      const h = readSealedHeader(sealed);
      assert.ok(h.ok);
      assert.equal(h.header.aead, aead);
      const r = receiver.open(sealed);
      assert.ok(r.ok);
      assert.deepEqual(r.plain, PLAIN);
    });
  }

  test('a tampered byte at any offset is refused and leaves the channel usable', () => {
    const { sender, receiver } = pair();
    const sealed = sender.seal(PLAIN);
    for (let i = 0; i < sealed.length; i++) {
      const t = Buffer.from(sealed);
      t[i] ^= 0x01;
      const r = receiver.open(t);
      assert.equal(r.ok, false, `byte ${i}`);
    }
    // the untouched packet still opens: forged ones recorded nothing
    assert.equal(reason(receiver.open(sealed)), 'ok');
  });

  test('the same packet twice is a replay; reordered packets within the window are fine', () => {
    const { sender, receiver } = pair();
    const a = sender.seal(PLAIN);
    const b = sender.seal(PLAIN);
    const c = sender.seal(PLAIN);
    assert.equal(reason(receiver.open(c)), 'ok');
    assert.equal(reason(receiver.open(a)), 'ok');
    assert.equal(reason(receiver.open(a)), 'replay');
    assert.equal(reason(receiver.open(b)), 'ok');
    assert.equal(reason(receiver.open(c)), 'replay');
  });

  test('a packet more than 1024 behind its sender is refused as a replay', () => {
    const { sender, receiver } = pair();
    const first = sender.seal(PLAIN);
    for (let i = 0; i < 1100; i++) assert.equal(reason(receiver.open(sender.seal(PLAIN))), 'ok');
    assert.equal(reason(receiver.open(first)), 'replay');
  });

  test('old and future timestamps are refused', () => {
    const { clock, sender, receiver } = pair();
    const sealed = sender.seal(PLAIN);
    clock.ms += SEALED_MAX_SKEW_MS + 1;
    assert.equal(reason(receiver.open(sealed)), 'stale');
    clock.ms -= 2 * (SEALED_MAX_SKEW_MS + 1);
    assert.equal(reason(receiver.open(sealed)), 'future');
    clock.ms += SEALED_MAX_SKEW_MS + 1;
    assert.equal(reason(receiver.open(sealed)), 'ok');
  });

  test('another secret cannot open it; a plain uWSGI packet is refused as plaintext', () => {
    const { sender, receiver } = pair('aes-256-gcm', OTHER);
    assert.equal(reason(receiver.open(sender.seal(PLAIN))), 'bad-seal');
    assert.equal(reason(receiver.open(PLAIN)), 'plaintext');
    assert.equal(reason(receiver.open(Buffer.from('hello'))), 'not-sealed');
    assert.equal(reason(receiver.open(Buffer.alloc(0))), 'not-sealed');
    assert.equal(reason(receiver.open(sender.seal(PLAIN).subarray(0, 50))), 'truncated');
  });

  test('random bytes after the magic never throw and never open', () => {
    const { receiver } = pair();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (a) => {
        const b = Buffer.concat([Buffer.from('UWCS\x01\x01'), Buffer.from(a)]);
        const r = receiver.open(b);
        assert.equal(r.ok, false);
      }),
      { numRuns: 500 },
    );
  });
});
