/**
 * Issue item 0b — a subscription naming one of the router's own listeners (or its stats
 * socket) is refused and counted as `self`: a node at `http://<own listener>` made one
 * request open connections to itself until the file descriptors ran out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { parseBackendAddress } from '../../src/corerouter/address.ts';
import { inetAton, OwnAddresses } from '../../src/subscription/own-addresses.ts';
import { SubscriptionReceiver } from '../../src/subscription/receiver.ts';
import { makeTable, packet } from './harness.ts';

function node(text: string) {
  const r = parseBackendAddress(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

function listenUnix(path: string): Promise<void> {
  const s = createServer();
  servers.push(s);
  return new Promise((resolve) => s.listen(path, resolve));
}

test('inet_aton forms the resolver accepts are read as IPv4 addresses', () => {
  assert.equal(inetAton('127.1'), '127.0.0.1');
  assert.equal(inetAton('2130706433'), '127.0.0.1');
  assert.equal(inetAton('0x7f.1'), '127.0.0.1');
  assert.equal(inetAton('0177.0.0.1'), '127.0.0.1');
  assert.equal(inetAton('127.0.1'), '127.0.0.1');
  assert.equal(inetAton('10.1.2.3'), '10.1.2.3');
  assert.equal(inetAton('app1'), null);
  assert.equal(inetAton('256.1.1.1'), null);
  assert.equal(inetAton('1.2.3.4.5'), null);
});

test('a specific TCP listener: the same address in every spelling, and nothing else', () => {
  const own = new OwnAddresses('router-host');
  own.add('127.0.0.1:8080');
  for (const a of [
    '127.0.0.1:8080',
    'http://127.0.0.1:8080',
    'uwsgi://127.0.0.1:8080',
    ':8080', // the local machine
    '0.0.0.0:8080', // Linux connects it to 127.0.0.1
    'localhost:8080',
    'LOCALHOST.:8080',
    'x.localhost:8080',
    '127.1:8080',
    '2130706433:8080',
    '0x7f.1:8080',
    '[::ffff:127.0.0.1]:8080',
    'http://[::ffff:7f00:1]:8080',
  ]) {
    assert.equal(own.isSelf(node(a)), true, a);
  }
  for (const a of [
    '127.0.0.1:8081',
    '127.0.0.2:8080',
    '10.9.9.9:8080',
    'app1:8080',
    '[::1]:8080',
    '/tmp/8080',
  ]) {
    assert.equal(own.isSelf(node(a)), false, a);
  }
});

test('a wildcard TCP listener (0.0.0.0:P, :P, [::]:P): every local address with port P', () => {
  const ifaceAddrs = Object.values(networkInterfaces())
    .flat()
    .map((a) => a?.address.split('%')[0])
    .filter((a): a is string => !!a);
  for (const bound of ['0.0.0.0:9090', ':9090', '[::]:9090']) {
    const own = new OwnAddresses('router-host');
    own.add(bound);
    const local = [
      '127.0.0.1:9090',
      '127.3.4.5:9090',
      '[::1]:9090',
      '[::]:9090',
      'localhost:9090',
      'Router-Host:9090',
      ...ifaceAddrs.map((a) => (a.includes(':') ? `[${a}]:9090` : `${a}:9090`)),
    ];
    for (const a of local) assert.equal(own.isSelf(node(a)), true, `${bound}: ${a}`);
    for (const a of ['127.0.0.1:9091', '192.0.2.7:9090', 'elsewhere.example:9090']) {
      assert.equal(own.isSelf(node(a)), false, `${bound}: ${a}`);
    }
  }
});

test('UNIX listeners: the same path, relative, through a symlink; abstract names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'uwr-own-'));
  const sock = join(dir, 'router.sock');
  await listenUnix(sock);
  const own = new OwnAddresses();
  own.add(sock);
  own.add('@uwr-own-abstract');
  symlinkSync(sock, join(dir, 'alias.sock'));
  assert.equal(own.isSelf(node(sock)), true);
  assert.equal(own.isSelf(node(`http://${sock}`)), true);
  assert.equal(own.isSelf(node(`./${relative(process.cwd(), sock)}`)), true);
  assert.equal(own.isSelf(node(`${dir}/../${dir.split('/').at(-1)}/router.sock`)), true);
  assert.equal(own.isSelf(node(join(dir, 'alias.sock'))), true, 'symlink to the socket');
  assert.equal(own.isSelf(node('@uwr-own-abstract')), true);
  assert.equal(own.isSelf(node(join(dir, 'other.sock'))), false);
  assert.equal(own.isSelf(node('@other')), false);
});

test('the receiver refuses (and counts, and logs once) a node at its own listener', () => {
  const t = makeTable();
  const own = new OwnAddresses();
  own.add('127.0.0.1:8080'); // the HTTP listener
  own.add('127.0.0.1:9191'); // the stats socket
  const receiver = new SubscriptionReceiver(t.table, { ownAddresses: own });
  const outcome = (address: string) => {
    const r = receiver.handle(packet('subscribe', { key: 'evil.example', address }));
    return r.ok ? r.result : r.reason;
  };
  assert.equal(outcome('http://127.0.0.1:8080'), 'self');
  assert.equal(outcome('127.0.0.1:9191'), 'self');
  assert.equal(outcome('http://localhost:8080'), 'self');
  assert.equal(t.table.pools.size, 0);
  assert.equal(receiver.counters.rejected.self, 3);
  assert.equal(outcome('127.0.0.1:3031'), 'new-pool', 'another node is fine');
  assert.equal(
    t.lines.filter((l) => l.includes('subscription rejected (self)')).length,
    3,
    'one line per address',
  );
  assert.equal(outcome('http://127.0.0.1:8080'), 'self');
  assert.equal(t.lines.filter((l) => l.includes('(self)')).length, 3, 'then rate-limited');
  assert.match(
    t.lines.find((l) => l.includes('(self)')) ?? '',
    /subscription rejected \(self\) for key "evil.example": node "http:\/\/127.0.0.1:8080" is one of this router's own listening sockets/,
  );
});
