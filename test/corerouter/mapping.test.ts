import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundName, parseBackendAddress, parseListenAddress } from '../../src/corerouter/address.ts';
import { baseMapper, chooseMapper, expandPattern, patternMapper } from '../../src/corerouter/mappers.ts';
import { StaticMapper } from '../../src/corerouter/static-nodes.ts';
import type { BackendAddress, KeyMapper } from '../../src/corerouter/types.ts';
import { silentLogger } from '../../src/logger.ts';

const client = { address: '127.0.0.1', port: 1 };
const addr = (t: string): BackendAddress => {
  const r = parseBackendAddress(t);
  assert.ok(r.ok, t);
  return r.value;
};

test('backend addresses: uWSGI forms and the uwrouter extensions', () => {
  assert.deepEqual(addr('127.0.0.1:3031'), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 3031,
    name: '127.0.0.1:3031',
    proto: 'uwsgi',
  });
  assert.deepEqual(addr(':3031'), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 3031,
    name: ':3031',
    proto: 'uwsgi',
  });
  assert.deepEqual(addr('/tmp/app.sock'), {
    kind: 'unix',
    path: '/tmp/app.sock',
    name: '/tmp/app.sock',
    proto: 'uwsgi',
  });
  assert.equal((addr('@abstract') as { path: string }).path, '\0abstract');
  assert.deepEqual(addr('[::1]:3031'), {
    kind: 'tcp',
    host: '::1',
    port: 3031,
    name: '[::1]:3031',
    proto: 'uwsgi',
  });
  assert.equal(addr('localhost:8000').kind, 'tcp');
  assert.equal(addr('http://127.0.0.1:8000').proto, 'http');
  for (const bad of [
    '',
    '127.0.0.1:',
    '127.0.0.1:99999',
    '127.0.0.1:0',
    'a b:80',
    '[::1:80',
    '1.2.3.4:port',
  ]) {
    assert.equal(parseBackendAddress(bad).ok, false, bad);
  }
});

test('listen addresses and the names uWSGI prints for them', () => {
  const l = parseListenAddress(':3017');
  assert.ok(l.ok && l.value.kind === 'tcp' && l.value.host === '0.0.0.0' && l.value.port === 3017);
  const s = parseListenAddress('=1');
  assert.ok(s.ok && s.value.kind === 'shared' && s.value.index === 1);
  const f = parseListenAddress('fd://3');
  assert.ok(f.ok && f.value.kind === 'fd' && f.value.fd === 3);
  assert.equal(parseListenAddress('1.2.3.4:x').ok, false);
  assert.equal(boundName({ address: '0.0.0.0', port: 80 }), ':80');
  assert.equal(boundName({ address: '127.0.0.1', port: 80 }), '127.0.0.1:80');
  assert.equal(boundName({ address: '::1', port: 80 }), '[::1]:80');
  assert.equal(boundName('/tmp/x.sock'), '/tmp/x.sock');
});

test('use-pattern substitution rules of corerouter.md §3', () => {
  assert.equal(expandPattern('/tmp/%s.sock', 'example.com'), '/tmp/example.com.sock');
  assert.equal(expandPattern('100%% %s', 'k'), '100% k');
  assert.equal(expandPattern('%(x)%s', 'k'), '%(x)k');
  assert.equal(expandPattern('a%qb%s', 'k'), 'abk');
  assert.equal(expandPattern('end%', 'k'), 'end%');
  const m = patternMapper('/run/%s.sock');
  assert.equal(m.pick('site', client)?.address.name, '/run/site.sock');
});

test('use-base appends the key verbatim', () => {
  const m = baseMapper('/run/app-');
  const l = m.pick('a.com', client);
  assert.equal(l?.address.name, '/run/app-a.com');
  assert.equal(l?.modifier1, 0);
});

test('exactly one mapper is active, chosen in uWSGI priority order', () => {
  const fake =
    (kind: KeyMapper['kind']): (() => KeyMapper) =>
    () => ({ kind, pick: () => null });
  let r = chooseMapper({
    static: fake('static'),
    base: fake('base'),
    subscription: fake('subscription'),
    pattern: fake('pattern'),
  });
  assert.equal(r.mapper?.kind, 'pattern');
  assert.deepEqual(r.ignored, ['subscription', 'base', 'static']);
  r = chooseMapper({ static: fake('static'), socket: fake('socket') });
  assert.equal(r.mapper?.kind, 'socket');
  r = chooseMapper({ cache: fake('cache'), pattern: fake('pattern') });
  assert.equal(r.mapper?.kind, 'cache');
  r = chooseMapper({});
  assert.equal(r.mapper, null);
});

test('X-to: round robin, failed nodes skipped for gracetime, then back', () => {
  const m = new StaticMapper(
    [addr('127.0.0.1:1'), addr('127.0.0.1:2'), addr('127.0.0.1:3')],
    30,
    'fastrouter',
    silentLogger(),
  );
  let now = 1000;
  m.now = () => now;
  const seq = () => Array.from({ length: 6 }, () => m.pick('k', client)?.address.name);
  assert.deepEqual(seq(), [
    '127.0.0.1:1',
    '127.0.0.1:2',
    '127.0.0.1:3',
    '127.0.0.1:1',
    '127.0.0.1:2',
    '127.0.0.1:3',
  ]);
  const l = m.pick('k', client);
  assert.equal(l?.address.name, '127.0.0.1:1');
  l?.failed('refused');
  assert.deepEqual(seq(), [
    '127.0.0.1:2',
    '127.0.0.1:3',
    '127.0.0.1:2',
    '127.0.0.1:3',
    '127.0.0.1:2',
    '127.0.0.1:3',
  ]);
  now += 29;
  assert.ok(!seq().includes('127.0.0.1:1'));
  now += 1;
  assert.ok(seq().includes('127.0.0.1:1'));
  assert.deepEqual(
    (m.statsJson() as { grace: number }[]).map((n) => n.grace),
    [1000, 0, 0],
  );
});

test('X-to: every node dead means no node; a success clears the grace', () => {
  const m = new StaticMapper([addr('127.0.0.1:1'), addr('127.0.0.1:2')], 30, 'fastrouter', silentLogger());
  m.now = () => 50;
  m.pick('k', client)?.failed('x');
  m.pick('k', client)?.failed('x');
  assert.equal(m.pick('k', client), null);
  m.now = () => 81;
  const l = m.pick('k', client);
  l?.connected();
  const stats = m.statsJson() as { name: string; hits: number; grace: number }[];
  assert.equal(stats.find((s) => s.name === l?.address.name)?.grace, 0);
  assert.equal(stats.find((s) => s.name === l?.address.name)?.hits, 1);
});

test('node addresses announced by subscriptions: valid and invalid forms', () => {
  const ok = [
    '127.0.0.1:3031',
    ':3031',
    '[::1]:3031',
    'localhost:80',
    'app.internal:8000',
    '/tmp/app.sock',
    'app.sock',
    '@abstract',
  ];
  for (const a of ok) assert.ok(parseBackendAddress(a).ok, a);
  const bad = [
    '',
    '127.0.0.1:',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '::1:80',
    '[::1]80',
    'host:port',
    'a b:80',
    '@',
    `/${'x'.repeat(120)}`,
    'bad\0path',
  ];
  for (const a of bad) assert.equal(parseBackendAddress(a).ok, false, JSON.stringify(a));
  assert.deepEqual(addr('@abc'), { kind: 'unix', path: '\0abc', name: '@abc', proto: 'uwsgi' });
  assert.deepEqual(addr(':3031'), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 3031,
    name: ':3031',
    proto: 'uwsgi',
  });
});
