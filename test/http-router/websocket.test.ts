import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isWebSocketUpgrade } from '../../src/http-router/websocket.ts';
import type { HttpHeaderField } from '../../src/protocol/http-request-head.ts';

const KEY: HttpHeaderField = { name: 'Sec-WebSocket-Key', value: 'dGhlIHNhbXBsZSBub25jZQ==' };
const UP: HttpHeaderField = { name: 'Upgrade', value: 'websocket' };
const CONN: HttpHeaderField = { name: 'Connection', value: 'Upgrade' };
const VER: HttpHeaderField = { name: 'Sec-WebSocket-Version', value: '13' };

// spec: http-router.md §6
test('websocket detection table', () => {
  const rows: ReadonlyArray<readonly [string, HttpHeaderField[], boolean]> = [
    ['browser: all four', [UP, CONN, VER, KEY], true],
    ['upgrade + connection + key', [UP, CONN, KEY], true],
    ['upgrade + version + key', [UP, VER, KEY], true],
    ['connection + version + key', [CONN, VER, KEY], true],
    ['no key', [UP, CONN, VER], false],
    ['only one of three', [UP, KEY], false],
    [
      'case-insensitive names and values',
      [
        { name: 'upgrade', value: 'WebSocket' },
        { name: 'CONNECTION', value: 'upgrade' },
        { name: 'sec-websocket-key', value: 'x' },
      ],
      true,
    ],
    [
      'Connection list is not a whole-value match',
      [UP, { name: 'Connection', value: 'keep-alive, Upgrade' }, KEY],
      false,
    ],
    [
      'but Upgrade + Version is enough',
      [UP, { name: 'Connection', value: 'keep-alive, Upgrade' }, VER, KEY],
      true,
    ],
    ['Upgrade: h2c', [{ name: 'Upgrade', value: 'h2c' }, CONN, KEY], false],
    ['nothing', [], false],
  ];
  for (const [name, headers, want] of rows) assert.equal(isWebSocketUpgrade(headers), want, name);
});
