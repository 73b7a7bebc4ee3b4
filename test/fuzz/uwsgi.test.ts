import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodePacket, decodeVars, encodePacket } from '../../src/protocol/uwsgi.ts';
import { UwsgiHeadReader } from '../../src/protocol/uwsgi-reader.ts';

const latin1 = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a).toString('latin1'));

test('encode → decode round-trips any vars', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.array(fc.tuple(latin1(1, 40), latin1(0, 200)), { maxLength: 30 }),
      (m1, m2, vars) => {
        const r = encodePacket(m1, vars, m2);
        assert.ok(r.ok);
        const d = decodePacket(r.packet);
        assert.equal(d.error, undefined);
        assert.deepEqual(d.header.modifier1, m1);
        assert.deepEqual(d.header.modifier2, m2);
        assert.deepEqual(d.vars, vars);
      },
    ),
    { numRuns: 500 },
  );
});

test('random bytes never throw and errors are typed', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const b = Buffer.from(bytes);
      const d = decodePacket(b);
      if (d.error) assert.equal(d.error.code, 'UWR_ERR_BAD_PACKET');
      const v = decodeVars(b);
      if (v.error) assert.ok(['empty-key', 'truncated-entry', 'trailing-bytes'].includes(v.error.reason));
    }),
    { numRuns: 2000 },
  );
});

test('every truncation of a valid packet is reported, never thrown', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(latin1(1, 20), latin1(0, 50)), { minLength: 1, maxLength: 10 }), (vars) => {
      const r = encodePacket(0, vars);
      assert.ok(r.ok);
      for (let cut = 0; cut < r.packet.length; cut++) {
        const d = decodePacket(r.packet.subarray(0, cut));
        assert.ok(d.error, `cut ${cut} must be an error`);
      }
    }),
    { numRuns: 100 },
  );
});

test('the streaming reader gives the same head for any chunking', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(latin1(1, 20), latin1(0, 80)), { maxLength: 12 }),
      fc.uint8Array({ maxLength: 50 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 50 }),
      (vars, body, sizes) => {
        const r = encodePacket(0, vars);
        assert.ok(r.ok);
        const all = Buffer.concat([r.packet, Buffer.from(body)]);
        const reader = new UwsgiHeadReader();
        let p = 0;
        let i = 0;
        while (p < all.length) {
          const n = sizes[i++ % sizes.length];
          const res = reader.push(all.subarray(p, p + n));
          p += n;
          if (res.state === 'done') {
            assert.deepEqual(res.head, r.packet);
            assert.deepEqual(Buffer.concat([res.rest, all.subarray(p)]), Buffer.from(body));
            return;
          }
          assert.equal(res.state, 'need-more');
        }
        assert.equal(all.length < r.packet.length, true);
      },
    ),
    { numRuns: 300 },
  );
});

test('the streaming reader never buffers past its bound on random input', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 40 }), (chunks) => {
      const reader = new UwsgiHeadReader(1024);
      for (const c of chunks) {
        const res = reader.push(Buffer.from(c));
        if (res.state !== 'need-more') break;
        assert.ok(reader.buffered <= 4 + 1024 + 300);
      }
    }),
    { numRuns: 500 },
  );
});
