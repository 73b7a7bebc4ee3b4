import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeSubscription, encodeSubscription } from '../../src/protocol/subscription.ts';
import { SubscriptionMapper } from '../../src/subscription/mapper.ts';
import { fixture, keyDir, makeSignedTable, makeTable } from '../subscription/harness.ts';

const fixtures = [
  'subscribe-plain.bin',
  'subscribe-signed-sha1.bin',
  'subscribe2-sni-notify.bin',
  'unsubscribe-plain.bin',
].map(fixture);

test('fuzz: random datagrams never throw (codec and receiver)', () => {
  const t = makeTable();
  const dir = keyDir('test.example.com');
  const s = makeSignedTable(dir, 'sha1');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const b = Buffer.from(bytes);
      decodeSubscription(b);
      t.receiver.handle(b);
      s.receiver.handle(b);
    }),
    { numRuns: 3000 },
  );
});

test('fuzz: truncated and bit-flipped real packets never throw; counters add up', () => {
  const t = makeTable();
  const dir = keyDir('test.example.com');
  const s = makeSignedTable(dir, 'sha1');
  s.clock.t = 1795240229;
  fc.assert(
    fc.property(
      fc.constantFrom(...fixtures),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      (bin, cut, at, val) => {
        const b = Buffer.from(bin.subarray(0, cut % (bin.length + 1)));
        if (b.length > 0) b[at % b.length] = val;
        t.receiver.handle(b);
        s.receiver.handle(b);
      },
    ),
    { numRuns: 3000 },
  );
  for (const r of [t.receiver, s.receiver]) {
    const c = r.counters;
    const sum =
      Object.values(c.accepted).reduce((a, b) => a + b, 0) +
      Object.values(c.rejected).reduce((a, b) => a + b, 0);
    assert.equal(sum, c.datagrams);
  }
});

test('fuzz: huge var lengths are bounded by the datagram', () => {
  const b = Buffer.from([224, 0xff, 0xff, 0, 0xff, 0xff, 0x6b, 0x65, 0x79, 0xff, 0xff]);
  const p = decodeSubscription(b)!;
  assert.ok(p.error);
  assert.equal(p.key, undefined);
});

test('fuzz: random subscribe/unsubscribe/pick/release sequences keep the table consistent', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          op: fc.constantFrom('sub', 'unsub', 'pick', 'fail', 'release', 'tick'),
          key: fc.constantFrom('a', 'b', '.c.com'),
          port: fc.integer({ min: 1, max: 4 }),
          weight: fc.integer({ min: 0, max: 3 }),
          backup: fc.integer({ min: 0, max: 1 }),
        }),
        { maxLength: 80 },
      ),
      fc.constantFrom('wrr' as const, 'lrc' as const, 'wlrc' as const, 'iphash' as const),
      (ops, algo) => {
        const t = makeTable({ algo });
        const m = new SubscriptionMapper(t.table, { dotsplit: true });
        const leases: Array<NonNullable<ReturnType<SubscriptionMapper['pick']>>> = [];
        for (const o of ops) {
          if (o.op === 'sub' || o.op === 'unsub') {
            const r = encodeSubscription(o.op === 'sub' ? 'subscribe' : 'unsubscribe', {
              key: o.key,
              address: `127.0.0.1:${o.port}`,
              weight: o.weight,
              backup: o.backup,
            });
            if (r.ok) t.receiver.handle(r.packet);
          } else if (o.op === 'pick') {
            const l = m.pick(o.key === '.c.com' ? 'www.c.com' : o.key, {
              address: `10.0.0.${o.port}`,
              port: 1,
            });
            if (l) {
              l.connected();
              leases.push(l);
            }
          } else if (o.op === 'fail') {
            const l = m.pick(o.key, { address: '10.0.0.1', port: 1 });
            l?.failed('test');
          } else if (o.op === 'release') {
            leases.shift()?.release(1, 1);
          } else t.clock.t += 10;
        }
        let nodes = 0;
        for (const pool of t.table.pools.values()) {
          assert.ok(pool.nodes.length > 0, 'no empty pool is listed');
          for (const n of pool.nodes) {
            assert.ok(n.ref >= 0);
            assert.equal(n.removed, false);
          }
          nodes += pool.nodes.length;
        }
        assert.equal(t.table.size, nodes);
        assert.equal(t.table.isEmpty(), nodes === 0);
      },
    ),
    { numRuns: 500 },
  );
});
