import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromValues, loadConfig } from '../../src/config/index.ts';

test('Config accessors: defaults, aliases, given() in registry order, unknown names', () => {
  const c = loadConfig(['--http-workers', '3', '--fastrouter', ':3017', '--log-level', 'debug'], {}).config;
  assert.equal(c.int('http-processes'), 3);
  assert.equal(c.str('http-workers'), '3');
  assert.equal(c.has('http-workers'), true);
  assert.deepEqual(c.all('http-workers'), ['3']);
  assert.equal(c.int('fastrouter-processes'), 1, 'default');
  assert.equal(c.str('fastrouter-stats'), undefined);
  assert.equal(c.int('http-headers-timeout'), 0, 'no default: 0');
  assert.equal(c.str('subscription-algo'), 'wrr');
  assert.deepEqual(c.given(), ['log-level', 'fastrouter', 'http-processes']);
  assert.equal(c.isKnown('http-connect-timeout'), true);
  assert.equal(c.isKnown('http-bogus'), false);
  assert.throws(() => c.int('http-bogus'), /internal: option "http-bogus"/);
});

test('flag() is true for on flags and optional-ints above 0', () => {
  const c = configFromValues({ 'http-keepalive': '0', 'http-manage-expect': 'yes', 'http-auto-gzip': 'on' });
  assert.equal(c.flag('http-keepalive'), false);
  assert.equal(c.has('http-keepalive'), true);
  assert.equal(c.flag('http-manage-expect'), true);
  assert.equal(c.flag('http-auto-gzip'), true);
  assert.equal(c.flag('http-auto-chunked'), false);
});
