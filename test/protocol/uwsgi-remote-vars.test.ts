/** withRemoteClient: the fastrouter's REMOTE_ADDR/REMOTE_PORT from a trusted PROXY header. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePacket, encodePacket } from '../../src/protocol/uwsgi.ts';
import { withRemoteClient } from '../../src/protocol/uwsgi-remote-vars.ts';

function packet(vars: Array<[string, string]>, m1 = 5, m2 = 7): Buffer {
  const r = encodePacket(m1, vars, m2);
  assert.ok(r.ok);
  return r.packet;
}

function rewritten(head: Buffer, address: string, port: number) {
  const r = withRemoteClient(head, address, port);
  assert.ok(r.ok, JSON.stringify(r));
  const d = decodePacket(r.head);
  assert.equal(d.error, undefined);
  assert.equal(d.body.length, 0);
  return d;
}

test('REMOTE_ADDR and REMOTE_PORT are replaced in place, every other var and the modifiers kept', () => {
  const d = rewritten(
    packet([
      ['REQUEST_METHOD', 'GET'],
      ['REMOTE_ADDR', '10.9.9.9'],
      ['HTTP_HOST', 'a.example'],
      ['REMOTE_PORT', '1'],
      ['QUERY_STRING', ''],
    ]),
    '2001:db8::17',
    54321,
  );
  assert.deepEqual(d.vars, [
    ['REQUEST_METHOD', 'GET'],
    ['REMOTE_ADDR', '2001:db8::17'],
    ['HTTP_HOST', 'a.example'],
    ['REMOTE_PORT', '54321'],
    ['QUERY_STRING', ''],
  ]);
  assert.equal(d.header.modifier1, 5);
  assert.equal(d.header.modifier2, 7);
});

test('missing ones are appended; duplicates (a sender choosing which one the app reads) all replaced', () => {
  assert.deepEqual(rewritten(packet([['HTTP_HOST', 'a']]), '192.0.2.1', 80).vars, [
    ['HTTP_HOST', 'a'],
    ['REMOTE_ADDR', '192.0.2.1'],
    ['REMOTE_PORT', '80'],
  ]);
  assert.deepEqual(
    rewritten(
      packet([
        ['REMOTE_ADDR', '1.1.1.1'],
        ['REMOTE_ADDR', '6.6.6.6'],
        ['HTTP_HOST', 'a'],
      ]),
      '192.0.2.1',
      80,
    ).vars,
    [
      ['REMOTE_ADDR', '192.0.2.1'],
      ['REMOTE_ADDR', '192.0.2.1'],
      ['HTTP_HOST', 'a'],
      ['REMOTE_PORT', '80'],
    ],
  );
  // names are exact: REMOTE_ADDRESS and remote_addr are other vars
  assert.deepEqual(
    rewritten(
      packet([
        ['REMOTE_ADDRESS', 'x'],
        ['remote_addr', 'y'],
      ]),
      '192.0.2.1',
      80,
    ).vars,
    [
      ['REMOTE_ADDRESS', 'x'],
      ['remote_addr', 'y'],
      ['REMOTE_ADDR', '192.0.2.1'],
      ['REMOTE_PORT', '80'],
    ],
  );
});

test('a block that would pass 65535 bytes, and a malformed block, are refused', () => {
  // 65535 - 4 - 8 = the largest value of a single var K that fills the block exactly
  const full = packet([['K', 'x'.repeat(65535 - 4 - 1)]]);
  assert.equal(full.length - 4, 65535);
  assert.deepEqual(withRemoteClient(full, '192.0.2.1', 80), { ok: false, reason: 'too-large' });
  const bad = Buffer.concat([packet([['HTTP_HOST', 'a']]), Buffer.from([1])]);
  bad.writeUInt16LE(bad.length - 4, 1);
  assert.deepEqual(withRemoteClient(bad, '192.0.2.1', 80), { ok: false, reason: 'malformed' });
  assert.deepEqual(withRemoteClient(Buffer.from([0, 0]), '192.0.2.1', 80), {
    ok: false,
    reason: 'malformed',
  });
});
