/**
 * The `X-use-cache` mapper (spec: corerouter.md §3; uWSGI cr_map.c): the item of the key
 * names the node, `ADDR[,MOD1]` or `A1|A2|…` taken in turn by the item's hit count; then the
 * whole path in one process: an HTTP router whose routes come from a cache fed by UDP sync
 * packets (the bytes a uWSGI app's cache_update sends), a delete removing the route.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, test } from 'node:test';
import { UwsgiCache } from '../../src/cache/cache.ts';
import { loadConfig } from '../../src/config/index.ts';
import { cacheMapper } from '../../src/corerouter/mappers.ts';
import { silentLogger } from '../../src/logger.ts';
import { encodeCacheSync } from '../../src/protocol/cache-sync.ts';
import { startRouters } from '../../src/start.ts';
import { startFakeNode } from '../corerouter/fake-node.ts';
import { httpGet } from '../interop/harness/http-client.ts';
import { pollUntil } from '../interop/harness/poll.ts';
import { freePort } from '../interop/harness/ports.ts';
import { settings } from './cache-settings.ts';

const CLIENT = { address: '127.0.0.1', port: 1 };

function routes(items: Record<string, string>) {
  const c = new UwsgiCache(settings({ name: 'routes', maxItems: 100 }), silentLogger());
  for (const [k, v] of Object.entries(items)) c.set(k, Buffer.from(v));
  return c;
}

describe('cache mapper', () => {
  test('one address; a missing item maps to no node and is not known', () => {
    const m = cacheMapper(routes({ 'example.com': '127.0.0.1:3031' }));
    const l = m.pick('example.com', CLIENT);
    assert.equal(l?.address.name, '127.0.0.1:3031');
    assert.equal(l?.modifier1, 0);
    assert.equal(m.pick('other.com', CLIENT), null);
    assert.equal(m.knows?.('example.com'), true);
    assert.equal(m.knows?.('other.com'), false);
  });

  test('A1|A2|A3 are taken in turn, the first request getting A1; ,N sets modifier1 of that element', () => {
    const m = cacheMapper(routes({ k: '127.0.0.1:1|127.0.0.1:2,5|/tmp/node.sock' }));
    const picks = [0, 1, 2, 3, 4].map(() => {
      const l = m.pick('k', CLIENT);
      return `${l?.address.name}/${l?.modifier1}`;
    });
    assert.deepEqual(picks, [
      '127.0.0.1:1/0',
      '127.0.0.1:2/5',
      '/tmp/node.sock/0',
      '127.0.0.1:1/0',
      '127.0.0.1:2/5',
    ]);
  });

  test('an element that is no address (port out of range), or a bad modifier, maps to no node', () => {
    const m = cacheMapper(
      routes({ a: '127.0.0.1:99999', b: '127.0.0.1:1,300', c: '127.0.0.1:1||127.0.0.1:2' }),
    );
    assert.equal(m.pick('a', CLIENT), null);
    assert.equal(m.pick('b', CLIENT), null);
    assert.equal(m.pick('c', CLIENT)?.address.name, '127.0.0.1:1');
    assert.equal(m.pick('c', CLIENT), null);
  });

  test('a changed item is read anew (the parsed form is kept by its text)', () => {
    const c = routes({ k: '127.0.0.1:1' });
    const m = cacheMapper(c);
    assert.equal(m.pick('k', CLIENT)?.address.name, '127.0.0.1:1');
    c.update('k', Buffer.from('127.0.0.1:2'));
    assert.equal(m.pick('k', CLIENT)?.address.name, '127.0.0.1:2');
  });
});

describe('X-use-cache at start-up', () => {
  async function startError(args: string[]): Promise<string> {
    try {
      const r = await startRouters(loadConfig(args, {}).config, silentLogger(), 'test');
      await r.close();
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  }

  test('refused without a cache, with an unknown cache, with a Redis cache', async () => {
    assert.match(
      await startError(['--http', '127.0.0.1:0', '--http-use-cache']),
      /--http-use-cache": no cache is configured/,
    );
    assert.match(
      await startError(['--http', '127.0.0.1:0', '--cache2', 'name=a,items=3', '--http-use-cache=b']),
      /there is no cache named "b" \(caches: a\)/,
    );
    assert.match(
      await startError([
        '--fastrouter',
        '127.0.0.1:0',
        '--cache2',
        'name=r,items=3,redis=redis://127.0.0.1:1/0',
        '--fastrouter-use-cache=r',
      ]),
      /keeps its items in Redis/,
    );
  });
});

describe('HTTP router routed by a cache fed over UDP', () => {
  test('a set packet creates the route, an update moves it, a delete removes it (404)', async (t) => {
    const [a, b] = [await startFakeNode({ name: 'A' }), await startFakeNode({ name: 'B' })];
    const udp = await freePort();
    const running = await startRouters(
      loadConfig(
        [
          '--http',
          '127.0.0.1:0',
          '--cache2',
          `name=routes,items=10,udp=127.0.0.1:${udp}`,
          '--http-use-cache=routes',
        ],
        {},
      ).config,
      silentLogger(),
      'test',
    );
    const sender = createSocket('udp4');
    t.after(async () => {
      sender.close();
      await running.close();
      await a.close();
      await b.close();
    });
    const bound = running.routers[0].listeners[0].server.address();
    assert.ok(bound !== null && typeof bound === 'object');
    const url = `http://127.0.0.1:${bound.port}/`;
    const send = (packet: Buffer) => new Promise((r) => sender.send(packet, udp, '127.0.0.1', r));
    const setRoute = (node: string) => {
      const e = encodeCacheSync({
        op: 'set',
        key: Buffer.from('example.com'),
        value: Buffer.from(node),
        expires: 0,
      });
      assert.ok(e.ok);
      return send(e.packet);
    };
    const statusFor = async () => (await httpGet(url, { headers: { host: 'example.com' } })).status;
    const body = async () => (await httpGet(url, { headers: { host: 'example.com' } })).text;

    assert.equal(await statusFor(), 404);
    await setRoute(a.address);
    await pollUntil('routed to A', async () => ((await body()).includes('ok-A') ? true : undefined));
    await setRoute(b.address);
    await pollUntil('routed to B', async () => ((await body()).includes('ok-B') ? true : undefined));
    const del = encodeCacheSync({ op: 'delete', key: Buffer.from('example.com') });
    assert.ok(del.ok);
    await send(del.packet);
    await pollUntil('route gone', async () => ((await statusFor()) === 404 ? true : undefined));
  });
});
