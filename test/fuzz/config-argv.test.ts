import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadConfig, OPTIONS } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';

// Real names make the loader go deep (values, ranges, choices), junk covers the rest.
// Positional `.ini` tokens are left out: they would read files.
const names = OPTIONS.flatMap((o) => [o.name, ...(o.aliases ?? [])]).filter((n) => n !== 'ini');
const value = fc.oneof(
  fc.string(),
  fc.constantFrom(
    'true',
    'off',
    'YES',
    '0',
    '1',
    '-1',
    '65',
    '99999999999999999999',
    '',
    'wrr',
    'json',
    '=x',
  ),
  fc.integer().map(String),
);
const token = fc.oneof(
  fc.constantFrom(...names).map((n) => `--${n}`),
  fc.tuple(fc.constantFrom(...names), value).map(([n, v]) => `--${n}=${v}`),
  value.filter((v) => !/\.ini/i.test(v)),
  fc.constantFrom('-h', '--', '-', '--=', '---x'),
  fc
    .string()
    .map((s) => `--${s}`)
    .filter((s) => !s.startsWith('--ini')),
);

test('random argv only ever fails with ConfigError', () => {
  fc.assert(
    fc.property(fc.array(token, { maxLength: 12 }), (argv) => {
      try {
        const r = loadConfig(argv, {}, { cwd: '/nonexistent' });
        for (const name of r.config.given()) r.config.str(name);
      } catch (e) {
        assert.ok(e instanceof ConfigError, `${String(e)} for ${JSON.stringify(argv)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('random UWSGI_* environments only ever fail with ConfigError', () => {
  const envKey = fc.constantFrom(...names).map((n) => `UWSGI_${n.toUpperCase().replaceAll('-', '_')}`);
  fc.assert(
    fc.property(
      fc.dictionary(
        envKey,
        value.filter((v) => !/\.ini/i.test(v)),
      ),
      (env) => {
        delete env.UWSGI_INI;
        try {
          loadConfig([], env, { cwd: '/nonexistent' });
        } catch (e) {
          assert.ok(e instanceof ConfigError, `${String(e)} for ${JSON.stringify(env)}`);
        }
      },
    ),
    { numRuns: 1000 },
  );
});
