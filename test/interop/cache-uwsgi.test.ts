/**
 * The cache UDP sync with a real uWSGI 2.0 node (spec: ssl-sni-sessions.md §7; REFERENCE.md
 * "A uWSGI app can write its own cache"): the app's `uwsgi.cache_update` reaches uwrouter's
 * `--http-use-cache` routes and its `cache_del` removes them (uwrouter honours deletes); a
 * write in uwrouter's cache reaches the node's cache; a secret cache ignores the node's
 * plaintext packets and a forged one, and takes sealed ones.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CacheSystem } from '../../src/cache/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { encodeCacheSync } from '../../src/protocol/cache-sync.ts';
import {
  freePort,
  httpGet,
  pollUntil,
  readStatsJson,
  type ServerHandle,
  startUwrouter,
  startUwsgiNode,
  tmpDir,
} from './harness/index.ts';

interface CacheStats {
  name: string;
  items: number;
  hits: number;
  miss: number;
  uwrouter: { sync: { received: number; applied: number; deleted: number; refused: Record<string, number> } };
}

/** A uWSGI python node whose app writes its cache "routes", synced to `nodes`, receiving on `udp`. */
async function cacheNode(name: string, cache2Extra: string): Promise<{ node: ServerHandle; http: string }> {
  const httpPort = await freePort();
  const node = await startUwsgiNode({
    app: 'cache_app.py',
    name,
    args: ['--http-socket', `127.0.0.1:${httpPort}`, '--cache2', `name=routes,items=100${cache2Extra}`],
  });
  return { node, http: `http://127.0.0.1:${httpPort}` };
}

async function nodeSays(http: string, path: string): Promise<string> {
  return (await httpGet(`${http}${path}`)).text;
}

describe('a real uWSGI node feeds uwrouter routes over the cache UDP sync', () => {
  let node: ServerHandle;
  let nodeHttp: string;
  let router: ServerHandle;
  let url: string;
  let statsPort: number;

  before(async () => {
    const udp = await freePort();
    ({ node, http: nodeHttp } = await cacheNode('alpha', `,nodes=127.0.0.1:${udp}`));
    const httpPort = await freePort();
    statsPort = await freePort();
    router = await startUwrouter([
      '--http',
      `127.0.0.1:${httpPort}`,
      '--cache2',
      `name=routes,items=100,udp=127.0.0.1:${udp}`,
      '--http-use-cache=routes',
      '--stats',
      `127.0.0.1:${statsPort}`,
    ]);
    url = `http://127.0.0.1:${httpPort}/`;
  });
  after(async () => {
    await router?.stop();
    await node?.stop();
  });

  const status = async (host: string) => httpGet(url, { headers: { host } });
  const routes = async () => (await readStatsJson<{ caches: CacheStats[] }>(statsPort)).caches[0];

  test("cache_update in the app creates the route; cache_del removes it (uWSGI's own receivers ignore deletes)", async () => {
    assert.equal((await status('app.example')).status, 404);
    assert.equal(await nodeSays(nodeHttp, `/set?k=app.example&v=${node.address}`), 'ok');
    await pollUntil('routed through the synced item', async () => {
      const r = await status('app.example');
      return r.status === 200 && r.text === 'alpha' ? true : undefined;
    });
    assert.equal(await nodeSays(nodeHttp, '/del?k=app.example'), 'ok');
    await pollUntil('route removed', async () =>
      (await status('app.example')).status === 404 ? true : undefined,
    );
    const s = await routes();
    assert.equal(s.name, 'routes');
    assert.deepEqual([s.uwrouter.sync.applied, s.uwrouter.sync.deleted], [1, 1]);
    assert.deepEqual(s.uwrouter.sync.refused, {});
  });

  test('an item set with a TTL (an absolute expiry on the wire) is routable', async () => {
    assert.equal(await nodeSays(nodeHttp, `/set?k=ttl.example&v=${node.address}&ttl=300`), 'ok');
    await pollUntil('routed', async () => ((await status('ttl.example')).status === 200 ? true : undefined));
  });
});

describe("uwrouter's cache writes reach a real uWSGI node's cache", () => {
  test('update with and without expiry is readable by the app; a delete is ignored by uWSGI 2.0', async (t) => {
    const nodeUdp = await freePort();
    const { node, http } = await cacheNode('beta', `,udp=127.0.0.1:${nodeUdp}`);
    const caches = CacheSystem.fromConfig(
      loadConfig(['--cache2', `name=routes,items=100,nodes=127.0.0.1:${nodeUdp}`], {}).config,
      silentLogger(),
    );
    await caches.start();
    t.after(async () => {
      await caches.close();
      await node.stop();
    });
    const c = caches.find('routes')!.local!;
    // uWSGI's udp thread starts with the node; retry until it takes the first packet
    await pollUntil('first packet taken', async () => {
      c.update('from-router', Buffer.from('hello uwsgi'));
      return (await nodeSays(http, '/get?k=from-router')) === 'hello uwsgi' ? true : undefined;
    });
    c.update('with-ttl', Buffer.from('expiring'), 300);
    await pollUntil('ttl item', async () =>
      (await nodeSays(http, '/get?k=with-ttl')) === 'expiring' ? true : undefined,
    );
    c.delete('from-router');
    // give the delete the time the updates took, then see that uWSGI kept the key (spec §7)
    c.update('after-delete', Buffer.from('x'));
    await pollUntil('later packet arrived', async () =>
      (await nodeSays(http, '/get?k=after-delete')) === 'x' ? true : undefined,
    );
    assert.equal(await nodeSays(http, '/get?k=from-router'), 'hello uwsgi');
  });
});

describe('a secret cache: plaintext and forged packets change nothing, sealed ones do', () => {
  test("the node's plaintext updates and a forged packet are refused and counted; a sealed update moves the route", async (t) => {
    const dir = tmpDir('cache-secret');
    const secret = join(dir, 'sync.key');
    writeFileSync(secret, 'f0e1d2c3b4a5968778695a4b3c2d1e0f', { mode: 0o600 });
    const udp = await freePort();
    const { node, http } = await cacheNode('gamma', `,nodes=127.0.0.1:${udp}`);
    const other = await cacheNode('delta', '');
    const [httpPort, statsPort] = [await freePort(), await freePort()];
    const router = await startUwrouter([
      '--http',
      `127.0.0.1:${httpPort}`,
      '--cache2',
      `name=routes,items=100,udp=127.0.0.1:${udp},secret=${secret}`,
      '--add-cache-item',
      `routes secure.example=${node.address}`,
      '--http-use-cache=routes',
      '--stats',
      `127.0.0.1:${statsPort}`,
    ]);
    const sealer = CacheSystem.fromConfig(
      loadConfig(['--cache2', `name=routes,items=10,nodes=127.0.0.1:${udp},secret=${secret}`], {}).config,
      silentLogger(),
    );
    await sealer.start();
    t.after(async () => {
      await sealer.close();
      await router.stop();
      await node.stop();
      await other.node.stop();
    });
    const body = async () =>
      (await httpGet(`http://127.0.0.1:${httpPort}/`, { headers: { host: 'secure.example' } })).text;
    const sync = async () =>
      (await readStatsJson<{ caches: CacheStats[] }>(statsPort)).caches[0].uwrouter.sync;
    assert.equal(await body(), 'gamma');

    // the real node's plaintext cache_update, then a forged plaintext packet
    assert.equal(await nodeSays(http, `/set?k=secure.example&v=${other.node.address}`), 'ok');
    const forged = encodeCacheSync({
      op: 'set',
      key: Buffer.from('secure.example'),
      value: Buffer.from(other.node.address),
      expires: 0,
    });
    assert.ok(forged.ok);
    const s = createSocket('udp4');
    await new Promise((r) => s.send(forged.packet, udp, '127.0.0.1', r));
    s.close();
    await pollUntil('both refused', async () => ((await sync()).refused.plaintext === 2 ? true : undefined));
    assert.equal(await body(), 'gamma');
    assert.equal((await sync()).applied, 0);

    // a sealed update from a holder of the secret moves the route
    sealer.find('routes')!.local!.update('secure.example', Buffer.from(other.node.address));
    await pollUntil('sealed update applied', async () => ((await body()) === 'delta' ? true : undefined));
    assert.equal((await sync()).applied, 1);
  });
});
