import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBackendAddress, parseListenAddress } from '../../src/corerouter/address.ts';

function listenError(text: string): string {
  const r = parseListenAddress(text);
  assert.ok(!r.ok, text);
  return r.error;
}

test('a bad listening address says what is wrong with it', () => {
  assert.equal(
    listenError('127.0.0.1:99999'),
    'invalid listening address "127.0.0.1:99999": port 99999 is out of range (0-65535)',
  );
  assert.match(listenError(':1234567'), /port 1234567 is out of range/);
  assert.match(listenError('127.0.0.1:http'), /port "http" is not a number/);
  assert.match(listenError('[::1]8080'), /missing ":PORT" after "]"/);
  assert.match(listenError('[::1:8080'), /missing "]"/);
  assert.match(listenError('bad_host:80'), /"bad_host" is not an IPv4 address or host name/);
  const ok = parseListenAddress('127.0.0.1:65535');
  assert.ok(ok.ok && ok.value.kind === 'tcp' && ok.value.port === 65535);
});

test('a bad node address says what is wrong with it', () => {
  const r = parseBackendAddress('127.0.0.1:70000');
  assert.ok(!r.ok);
  assert.equal(r.error, 'invalid node address "127.0.0.1:70000": port 70000 is out of range (0-65535)');
  const zero = parseBackendAddress('127.0.0.1:0');
  assert.ok(!zero.ok);
  assert.match(zero.error, /port 0 cannot be connected to/);
});
