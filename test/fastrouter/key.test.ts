import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFastrouterKey } from '../../src/fastrouter/key.ts';
import { encodePacket } from '../../src/protocol/uwsgi.ts';

function keyOf(vars: [string, string][]): string | null {
  const r = encodePacket(0, vars, 0);
  assert.ok(r.ok);
  return readFastrouterKey(r.packet).key;
}

test('a key from HTTP_HOST or SERVER_NAME is a host name: A-Z folded, trailing dot dropped', () => {
  assert.equal(keyOf([['HTTP_HOST', 'WWW.Example.COM.']]), 'www.example.com');
  assert.equal(keyOf([['HTTP_HOST', 'Example.com.:8080']]), 'example.com:8080');
  assert.equal(keyOf([['SERVER_NAME', 'Node.Example.']]), 'node.example');
  assert.equal(keyOf([['HTTP_HOST', 'plain.example']]), 'plain.example');
});

test('an explicit UWSGI_FASTROUTER_KEY is kept byte for byte', () => {
  assert.equal(
    keyOf([
      ['HTTP_HOST', 'Host.Example'],
      ['UWSGI_FASTROUTER_KEY', 'Pool.A.'],
    ]),
    'Pool.A.',
  );
  assert.equal(keyOf([['REQUEST_METHOD', 'GET']]), null);
});
