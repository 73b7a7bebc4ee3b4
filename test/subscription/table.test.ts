import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SubscriptionMapper } from '../../src/subscription/mapper.ts';
import { SubscriptionCountersStats, SubscriptionsStats } from '../../src/subscription/stats.ts';
import { fixture, makeTable, packet } from './harness.ts';

const client = { address: '127.0.0.1', port: 1 };

test('fixture subscribe creates pool + node with uWSGI log lines; refresh updates only live fields', () => {
  const t = makeTable();
  const out = t.receiver.handle(fixture('subscribe-plain.bin'));
  assert.deepEqual(out.ok && out.result, 'new-pool');
  assert.deepEqual(t.lines, [
    '[uwsgi-subscription for pid 4242] new pool: example.com (hash key: 30778)',
    '[uwsgi-subscription for pid 4242] example.com => new node: 127.0.0.1:21031',
  ]);
  const node = t.table.pools.get('example.com')!.nodes[0];
  assert.equal(node.weight, 1); // 0 → 1
  assert.equal(node.lastCheck, t.clock.t);
  t.clock.t += 5;
  node.lastRequests = 9;
  // same node, different modifier1/weight: modifier1 is NOT updated by a refresh
  const out2 = t.receiver.handle(fixture('subscribe2-weight3-modifier1-5.bin'));
  assert.equal(out2.ok && out2.result, 'refresh');
  assert.equal(node.modifier1, 0);
  assert.equal(node.weight, 3);
  assert.equal(node.lastRequests, 0);
  assert.equal(node.lastCheck, t.clock.t);
  assert.equal(t.lines.length, 2, 'refresh logs nothing');
});

test('unsubscribe marks failed (logged once) and removes an unreferenced node and its pool', () => {
  const t = makeTable();
  let first = 0;
  let gone = 0;
  t.table.onFirstNode(() => first++);
  t.table.onLastNodeGone(() => gone++);
  t.receiver.handle(fixture('subscribe-plain.bin'));
  assert.equal(first, 1);
  assert.equal(t.table.isEmpty(), false);
  const out = t.receiver.handle(fixture('unsubscribe-plain.bin'));
  assert.equal(out.ok && out.result, 'unsubscribe');
  assert.equal(
    t.lines.at(-1),
    '[uWSGI fastrouter pid 4242] example.com => marking 127.0.0.1:21031 as failed',
  );
  assert.equal(t.table.pools.size, 0);
  assert.equal(gone, 1);
  assert.equal(t.table.isEmpty(), true);
  const again = t.receiver.handle(fixture('unsubscribe-plain.bin'));
  assert.equal(again.ok && again.result, 'unknown-node');
});

test('a referenced node survives unsubscribe until its session ends', () => {
  const t = makeTable();
  t.receiver.handle(fixture('subscribe-plain.bin'));
  const m = new SubscriptionMapper(t.table);
  const lease = m.pick('example.com', client)!;
  lease.connected();
  t.receiver.handle(fixture('unsubscribe-plain.bin'));
  const node = t.table.pools.get('example.com')!.nodes[0];
  assert.equal(node.deathMark, 1);
  assert.equal(node.failcnt, 1);
  assert.equal(m.pick('example.com', client), null);
  lease.release(100, 200);
  assert.equal(t.table.pools.size, 0);
  assert.equal(node.tx, 100);
  assert.equal(node.rx, 200);
});

test('lease: connected counts requests, failed marks the node and removes it', () => {
  const t = makeTable({ router: 'http' });
  t.receiver.handle(fixture('subscribe2-weight3-modifier1-5.bin'));
  const m = new SubscriptionMapper(t.table);
  const l1 = m.pick('example.com', client)!;
  assert.equal(l1.modifier1, 5);
  assert.deepEqual(l1.address, {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 21031,
    name: '127.0.0.1:21031',
    proto: 'uwsgi',
  });
  l1.connected();
  l1.release(1, 2);
  const node = t.table.pools.get('example.com')!.nodes[0];
  assert.equal(node.requests, 1);
  assert.equal(node.lastRequests, 1);
  assert.equal(node.ref, 0);
  const l2 = m.pick('example.com', client)!;
  l2.failed('ECONNREFUSED');
  l2.release(0, 0); // ignored after failed
  assert.equal(t.lines.at(-1), '[uwsgi-http] example.com => marking 127.0.0.1:21031 as failed');
  assert.equal(node.failcnt, 1);
  assert.equal(node.removed, true);
  assert.equal(t.table.pools.size, 0);
  // it comes back as a new node on its next announce
  t.receiver.handle(fixture('subscribe2-weight3-modifier1-5.bin'));
  assert.equal(t.lines.at(-1), '[uwsgi-subscription for pid 4242] example.com => new node: 127.0.0.1:21031');
});

test('tolerance: strict now − last_check > tol, lazy on lookup, logged once', () => {
  const t = makeTable({ tolerance: 17 });
  t.receiver.handle(fixture('subscribe-plain.bin'));
  const m = new SubscriptionMapper(t.table);
  t.clock.t += 17;
  const l = m.pick('example.com', client);
  assert.ok(l, 'exactly 17 s is still alive');
  t.clock.t += 1;
  assert.equal(m.pick('example.com', client), null); // held by l → marked, not removed
  assert.equal(
    t.lines.at(-1),
    '[uwsgi-subscription for pid 4242] example.com => marking 127.0.0.1:21031 as failed (no announce received in 17 seconds)',
  );
  const n = t.lines.length;
  assert.equal(m.pick('example.com', client), null);
  assert.equal(t.lines.length, n, 'logged once');
  l!.release(0, 0);
  assert.equal(t.table.pools.size, 0);
});

test('sweep removes expired unreferenced nodes without any lookup (stats never stale)', () => {
  const t = makeTable();
  let gone = 0;
  t.table.onLastNodeGone(() => gone++);
  t.receiver.handle(fixture('subscribe-plain.bin'));
  t.receiver.handle(packet('subscribe', { key: 'other.com', address: '/tmp/app.sock' }));
  t.clock.t += 10;
  t.receiver.handle(packet('subscribe', { key: 'other.com', address: '/tmp/app.sock' }));
  t.clock.t += 10;
  t.table.sweep();
  assert.deepEqual([...t.table.pools.keys()], ['other.com']);
  const stats = new SubscriptionsStats(t.table);
  t.clock.t += 20;
  assert.deepEqual(stats.statsJson().toJSON(), []);
  assert.equal(gone, 1);
});

test('the sweep timer runs by itself and is unref’d', async () => {
  const t = makeTable({ sweepIntervalMs: 20 });
  t.receiver.handle(fixture('subscribe-plain.bin'));
  t.clock.t += 100;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(t.table.pools.size, 0);
  t.table.close();
});

test('dotsplit: www.example.com → .example.com → .com, leading dot kept, ≤ 5 lookups', () => {
  const t = makeTable();
  t.receiver.handle(packet('subscribe', { key: '.example.com', address: '127.0.0.1:1' }));
  t.receiver.handle(packet('subscribe', { key: 'example.org', address: '127.0.0.1:2' }));
  const m = new SubscriptionMapper(t.table, { dotsplit: true, fallbackKey: 'example.org' });
  assert.equal(m.pick('www.example.com', client)?.address.name, '127.0.0.1:1');
  assert.equal(m.pick('a.b.example.com', client)?.address.name, '127.0.0.1:1');
  assert.equal(m.pick('example.com', client), null, 'bare key does not match .example.com');
  assert.equal(m.pick('a.b.c.d.e.example.com', client), null, 'more than 5 lookups');
  assert.equal(m.pick('nothing.net', client), null, 'no fallback in dotsplit mode');
});

test('fallback key is used when the key has no usable node', () => {
  const t = makeTable();
  t.receiver.handle(packet('subscribe', { key: 'fallback', address: '127.0.0.1:9' }));
  const m = new SubscriptionMapper(t.table, { fallbackKey: 'fallback' });
  assert.equal(m.pick('unknown.com', client)?.address.name, '127.0.0.1:9');
});

test('proto: http via proto=http or an http:// address', () => {
  const t = makeTable();
  t.receiver.handle(packet('subscribe', { key: 'a', address: '127.0.0.1:80', proto: 'http' }));
  t.receiver.handle(packet('subscribe', { key: 'b', address: 'http://127.0.0.1:81' }));
  const m = new SubscriptionMapper(t.table);
  assert.deepEqual(m.pick('a', client)?.address, {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 80,
    name: '127.0.0.1:80',
    proto: 'http',
  });
  assert.deepEqual(m.pick('b', client)?.address, {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 81,
    name: 'http://127.0.0.1:81',
    proto: 'http',
  });
});

test('rejections: bad address, long key, no key — counted and logged', () => {
  const t = makeTable();
  const r1 = t.receiver.handle(packet('subscribe', { key: 'k', address: 'not valid:port' }));
  const r2 = t.receiver.handle(packet('subscribe', { key: 'k'.repeat(256), address: '127.0.0.1:1' }));
  const r3 = t.receiver.handle(packet('subscribe', { key: '', address: '127.0.0.1:1' }).subarray(0, 4));
  const r4 = t.receiver.handle(Buffer.from([224, 0]));
  assert.deepEqual(
    [r1, r2, r3, r4].map((r) => !r.ok && r.reason),
    ['bad-address', 'key-too-long', 'bad-address', 'bad-packet'],
  );
  const ok255 = t.receiver.handle(packet('subscribe', { key: 'k'.repeat(255), address: '127.0.0.1:1' }));
  assert.equal(ok255.ok, true);
  assert.ok(t.lines.some((l) => l.includes('rejected (bad-address)')));
  assert.ok(t.lines.some((l) => l.includes('rejected (key-too-long)')));
  const c = new SubscriptionCountersStats(t.receiver.counters).statsJson();
  assert.equal(c.datagrams, 5);
  assert.equal(c.rejected['bad-address'], 2);
  assert.equal(c.accepted['new-pool'], 1);
});

test('stats: uWSGI field names and order, bucket order', () => {
  const t = makeTable();
  t.receiver.handle(packet('subscribe', { key: 'example.com:8080', address: '127.0.0.1:39041', cores: 1 }));
  t.receiver.handle(
    packet('subscribe', { key: 'example.com', address: '127.0.0.1:21034', cores: 2, weight: 3 }),
  );
  const s = new SubscriptionsStats(t.table);
  assert.equal(s.statsName, 'subscriptions');
  const json = s.statsJson().toJSON();
  assert.deepEqual(
    json.map((p) => [p.key, p.hash]),
    [
      ['example.com', 30778],
      ['example.com:8080', 34227],
    ],
  );
  const ref = JSON.parse(readFileSync(new URL('../fixtures/router-stats.json', import.meta.url), 'utf8'));
  const refPool = ref.subscriptions[0];
  assert.deepEqual(Object.keys(json[0]), Object.keys(refPool));
  assert.deepEqual(Object.keys(json[0].nodes[0]), Object.keys(refPool.nodes[0]));
  assert.deepEqual(
    { ...json[0].nodes[0], last_check: 0 },
    { ...refPool.nodes[0], last_check: 0, requests: 0, last_requests: 0, tx: 0, rx: 0 },
  );
});

test('hooks see pools and SNI material', () => {
  const created: string[] = [];
  const removed: string[] = [];
  const t = makeTable({
    hooks: { onPoolCreated: (p) => created.push(p.key), onPoolRemoved: (p) => removed.push(p.key) },
  });
  t.receiver.handle(fixture('subscribe2-sni-notify.bin'));
  const pool = t.table.pools.get('sni.example.com')!;
  assert.deepEqual(pool.sni, { key: '/etc/ssl/sni.key', crt: '/etc/ssl/sni.crt', ca: '/etc/ssl/ca.crt' });
  assert.equal(pool.nodes[0].notify, '/tmp/uwsgi-harness-notify.sock');
  assert.equal(pool.nodes[0].modifier2, 7);
  t.receiver.handle(packet('unsubscribe', { key: 'sni.example.com', address: '127.0.0.1:9999' }));
  assert.deepEqual([created, removed], [['sni.example.com'], ['sni.example.com']]);
});

test('the TLS side gets every accepted packet with sni_key + sni_crt, and the pool when it goes; sni_enabled asks it', () => {
  const t = makeTable();
  const calls: string[] = [];
  const enabled = new Set<string>();
  t.table.sni = {
    attachSubscription: (k, sni) => {
      calls.push(`attach ${k} ${sni.key} ${sni.crt} ${sni.ca ?? '-'}`);
      // the TLS side may refuse a certificate (outside --subscriptions-sni-dir, unreadable)
      if (sni.crt !== 'refused.pem') enabled.add(k);
    },
    detachSubscription: (k) => {
      calls.push(`detach ${k}`);
      enabled.delete(k);
    },
    hasSubscriptionContext: (k) => enabled.has(k),
  };
  const sub = (address: string, sni: boolean) =>
    packet('subscribe', {
      key: 'Sni.Example.com',
      address,
      ...(sni ? { sniKey: 'k.pem', sniCrt: 'c.pem' } : {}),
    });
  t.receiver.handle(sub('127.0.0.1:1', false)); // new pool without SNI: nothing to attach
  assert.deepEqual(calls, []);
  assert.equal(new SubscriptionsStats(t.table).statsJson().toJSON()[0].sni_enabled, 0);
  t.receiver.handle(sub('127.0.0.1:1', true)); // a refresh brings it (uWSGI #581)
  t.receiver.handle(sub('127.0.0.1:1', true)); // and every repeat goes too (the TLS side dedups)
  t.receiver.handle(sub('127.0.0.1:2', true)); // a new node
  assert.deepEqual(calls, [
    'attach sni.example.com k.pem c.pem -',
    'attach sni.example.com k.pem c.pem -',
    'attach sni.example.com k.pem c.pem -',
  ]);
  assert.equal(new SubscriptionsStats(t.table).statsJson().toJSON()[0].sni_enabled, 1);
  // announced but refused by the TLS side: sni_enabled says 0 (uWSGI's says what it built, too)
  t.receiver.handle(
    packet('subscribe', { key: 'x.example', address: '127.0.0.1:9', sniKey: 'k', sniCrt: 'refused.pem' }),
  );
  const x = new SubscriptionsStats(t.table)
    .statsJson()
    .toJSON()
    .find((p) => p.key === 'x.example');
  assert.equal(x?.sni_enabled, 0);
  calls.pop();
  // a packet refused by the table (an empty key) attaches nothing
  t.receiver.handle(packet('subscribe', { key: '', address: '127.0.0.1:3', sniKey: 'k', sniCrt: 'c' }));
  assert.equal(calls.length, 3);
  t.receiver.handle(packet('unsubscribe', { key: 'sni.example.com', address: '127.0.0.1:1' }));
  assert.equal(calls.length, 3, 'a node left, the pool stays');
  t.receiver.handle(packet('unsubscribe', { key: 'sni.example.com', address: '127.0.0.1:2' }));
  assert.deepEqual(calls.slice(3), ['detach sni.example.com']);
});
