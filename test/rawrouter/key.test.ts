import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { test } from 'node:test';
import type { Listener } from '../../src/corerouter/listener.ts';
import { rawrouterKey } from '../../src/rawrouter/key.ts';

function listener(configured: string, name: string): Listener {
  return { configured, name, server: null as unknown as Server, fd: -1, close: async () => {} };
}

test('the key is the listening address as configured (spec: corerouter.md §3), as uWSGI keys it', () => {
  assert.equal(rawrouterKey(listener(':9090', ':9090')), ':9090');
  assert.equal(rawrouterKey(listener('127.0.0.1:9090', '127.0.0.1:9090')), '127.0.0.1:9090');
  assert.equal(rawrouterKey(listener('[::1]:9090', '[::1]:9090')), '[::1]:9090');
  assert.equal(rawrouterKey(listener('/run/raw.sock', '/run/raw.sock')), '/run/raw.sock');
});

test("=N, fd://N and port 0: the bound address, never uWSGI's name cut to the option's length (spec §6)", () => {
  assert.equal(rawrouterKey(listener('=0', '127.0.0.1:39120')), '127.0.0.1:39120');
  assert.equal(rawrouterKey(listener('fd://3', ':8080')), ':8080');
  assert.equal(rawrouterKey(listener('127.0.0.1:0', '127.0.0.1:41234')), '127.0.0.1:41234');
});
