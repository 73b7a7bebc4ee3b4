import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OptionSpec } from '../../src/config/config.ts';
import { normalizeOptionValue, parseBooleanWord } from '../../src/config/option-value.ts';
import { findOption } from '../../src/config/registry.ts';

function spec(name: string): OptionSpec {
  const s = findOption(name);
  assert.ok(s, name);
  return s;
}

function value(name: string, raw: string | undefined): string {
  const r = normalizeOptionValue(spec(name), raw);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
}

function error(name: string, raw: string | undefined): string {
  const r = normalizeOptionValue(spec(name), raw);
  assert.ok(!r.ok, `expected an error for ${name}=${raw}`);
  return r.error;
}

test('boolean words are case-insensitive', () => {
  for (const w of ['true', 'TRUE', 'Yes', 'on', '1', ' on ']) assert.equal(parseBooleanWord(w), true, w);
  for (const w of ['false', 'No', 'OFF', '0']) assert.equal(parseBooleanWord(w), false, w);
  for (const w of ['', 'y', '2', 'enabled']) assert.equal(parseBooleanWord(w), undefined, w);
});

test('flags store "1"/"0"; no value means on', () => {
  assert.equal(value('http-raw-body', undefined), '1');
  assert.equal(value('http-raw-body', ''), '1');
  assert.equal(value('http-raw-body', 'Off'), '0');
  assert.equal(value('fastrouter-quiet', 'true'), '1');
  assert.equal(
    error('http-raw-body', 'maybe'),
    'option "--http-raw-body": "maybe" is not a boolean; use one of true, false, 1, 0, yes, no, on, off',
  );
});

test('optional-int: uwsgi-docs #445 trap is not repeated (true means on)', () => {
  assert.equal(value('http-keepalive', 'true'), '1');
  assert.equal(value('http-keepalive', 'yes'), '1');
  assert.equal(value('http-keepalive', 'ON'), '1');
  assert.equal(value('http-keepalive', undefined), '1');
  assert.equal(value('http-keepalive', 'false'), '0');
  assert.equal(value('http-keepalive', 'off'), '0');
  assert.equal(value('http-keepalive', '0'), '0');
  assert.equal(value('http-keepalive', '15'), '15');
  assert.equal(value('http-manage-expect', '1048576'), '1048576');
  assert.match(
    error('http-keepalive', 'forever'),
    /^option "--http-keepalive": "forever" is not a number or a boolean/,
  );
});

test('ints: numbers, ranges, implicit values', () => {
  assert.equal(value('fastrouter-timeout', '007'), '7');
  assert.equal(value('fastrouter-timeout', ' 5 '), '5');
  assert.equal(error('fastrouter-timeout', 'abc'), 'option "--fastrouter-timeout": "abc" is not a number');
  assert.equal(error('fastrouter-timeout', '1.5'), 'option "--fastrouter-timeout": "1.5" is not a number');
  assert.equal(error('fastrouter-timeout', ''), 'option "--fastrouter-timeout": "" is not a number');
  assert.equal(
    error('fastrouter-timeout', '-1'),
    'option "--fastrouter-timeout": "-1" is out of range; it must be at least 0',
  );
  assert.equal(
    error('http-processes', '65'),
    'option "--http-processes": "65" is out of range; it must be between 1 and 64',
  );
  assert.equal(
    error('http-processes', '0'),
    'option "--http-processes": "0" is out of range; it must be between 1 and 64',
  );
  assert.equal(
    error('fastrouter-timeout', undefined),
    'option "--fastrouter-timeout": needs a value (SECONDS)',
  );
  assert.equal(value('fastrouter-use-socket', undefined), '0');
  assert.equal(value('fastrouter-use-socket', '2'), '2');
  assert.match(error('fastrouter-timeout', '99999999999999999999'), /out of range/);
});

test('strings: choices and implicit values', () => {
  assert.equal(value('subscription-algo', 'lrc'), 'lrc');
  assert.equal(
    error('subscription-algo', 'rr'),
    'option "--subscription-algo": "rr" is not one of wrr, lrc, wlrc, iphash',
  );
  assert.match(error('log-format', 'text'), /"text" is not one of uwsgi, json/);
  assert.equal(value('fastrouter-use-cache', undefined), '');
  assert.equal(value('fastrouter-use-cache', 'mycache'), 'mycache');
  assert.equal(value('fastrouter-to', ''), '');
  assert.equal(error('fastrouter-to', undefined), 'option "--fastrouter-to": needs a value (ADDR)');
});

test('X-processes takes a number or auto (any case), nothing else', () => {
  assert.equal(value('http-processes', 'auto'), 'auto');
  assert.equal(value('fastrouter-workers', ' AUTO '), 'auto');
  assert.equal(value('http-processes', '3'), '3');
  assert.equal(
    error('http-processes', 'automatic'),
    'option "--http-processes": "automatic" is not a number',
  );
  // only options that list the word take it
  assert.equal(error('fastrouter-timeout', 'auto'), 'option "--fastrouter-timeout": "auto" is not a number');
});
