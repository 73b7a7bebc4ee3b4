/**
 * What the primary owns reaches every worker (the `uwrouter` command with 2 workers):
 * - a certificate a real uWSGI node announces with sni_key/sni_crt is received and checked by
 *   the primary once, and each worker's TLS side serves it (its subscription replica attaches
 *   it to the worker's registry), and drops it when the node unsubscribes;
 * - a cache item written over the UDP sync (received by the primary, which owns the cache)
 *   routes `--http-use-cache` requests in each worker (its cache replica).
 * - the sslrouter's certificate key readable by root only: the primary reads it before the
 *   privilege drop and gives it to its workers, which run as nobody and serve with it.
 * Each worker is checked alone: the other one is stopped (SIGSTOP), so only the checked one can
 * accept on the shared socket.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeCacheSync } from '../../src/protocol/cache-sync.ts';
import {
  childPids,
  freePort,
  httpGet,
  pollUntil,
  readStatsJson,
  startUwrouter,
  startUwsgiNode,
  throughWorker,
  tmpDir,
} from './harness/index.ts';
import { certs, curlHttps, dflt, nameA, sClient, servedName } from './sslrouter-peers.ts';

const SERVING = /generation 1 serving/;
/** s_client sends it and ends when the router answers and closes */
const REQUEST = 'GET / HTTP/1.0\r\n\r\n';

async function twoWorkers(primary: number): Promise<number[]> {
  return pollUntil('two workers', () => {
    const pids = childPids(primary);
    return pids.length === 2 ? pids : undefined;
  });
}

test('HTTPS router, 2 workers: a node subscribed with sni_key/sni_crt is served its certificate by each worker, removed when it leaves', {
  timeout: 120_000,
}, async () => {
  const sniDir = certs.path('cluster-subscribed-certs');
  mkdirSync(sniDir);
  copyFileSync(nameA.crt, join(sniDir, 'app.crt'));
  copyFileSync(nameA.key, join(sniDir, 'app.key'));
  const [port, sub, stats] = await Promise.all([freePort(), freePort(), freePort()]);
  const router = await startUwrouter(
    [
      '--https',
      `127.0.0.1:${port},${dflt.crt},${dflt.key}`,
      '--http-processes',
      '2',
      '--http-subscription-server',
      `127.0.0.1:${sub}`,
      '--subscriptions-sni-dir',
      sniDir,
      '--http-stats',
      `127.0.0.1:${stats}`,
    ],
    { readyPattern: SERVING },
  );
  after(() => router.stop());
  const workers = await twoWorkers(router.pid);
  const sni = `sni_key=${join(sniDir, 'app.key')},sni_crt=${join(sniDir, 'app.crt')}`;
  const node = await startUwsgiNode({
    app: 'whoami.py',
    name: 'cert-owner',
    args: ['--subscribe-freq', '1', '--subscribe2', `server=127.0.0.1:${sub},key=a.example:${port},${sni}`],
  });
  let nodeRunning = true;
  after(() => (nodeRunning ? node.stop() : undefined));
  await pollUntil(
    'subscribed with its certificate',
    async () =>
      (await readStatsJson<{ subscriptions?: Array<{ sni_enabled: number }> }>(stats)).subscriptions?.[0]
        ?.sni_enabled === 1
        ? true
        : undefined,
    { retryErrors: true },
  );
  for (const w of workers) {
    await throughWorker(w, workers, async () => {
      // curl verifies a.example against the test CA: only the subscribed certificate passes
      const res = await pollUntil(
        `worker ${w} serves a.example's certificate`,
        async () => {
          const r = await curlHttps(port, { name: 'a.example' });
          return r.code === 0 ? r : undefined;
        },
        { timeoutMs: 5000 },
      );
      assert.equal(res.stdout, 'cert-owner', `worker ${w}`);
      assert.equal(servedName(await sClient(port, ['-servername', 'b.example'], REQUEST)), 'default.example');
    });
  }
  assert.match(router.logs(), /\[uwsgi-sni for pid \d+\] added SSL context for a\.example/);
  nodeRunning = false;
  await node.stop(); // SIGINT: the node unsubscribes
  for (const w of workers) {
    await throughWorker(w, workers, () =>
      pollUntil(
        `worker ${w} dropped a.example's certificate`,
        async () =>
          servedName(await sClient(port, ['-servername', 'a.example'], REQUEST)) === 'default.example'
            ? true
            : undefined,
        { timeoutMs: 5000 },
      ),
    );
  }
});

test('a cache item written over UDP to the primary routes X-use-cache requests in each of 2 workers', {
  timeout: 90_000,
}, async () => {
  const node = await startUwsgiNode({ app: 'whoami.py', name: 'cached-node' });
  after(() => node.stop());
  const [port, udp] = await Promise.all([freePort(), freePort()]);
  const router = await startUwrouter(
    [
      '--http',
      `127.0.0.1:${port}`,
      '--http-processes',
      '2',
      '--cache2',
      `name=routes,items=100,udp=127.0.0.1:${udp}`,
      '--http-use-cache=routes',
    ],
    { readyPattern: SERVING },
  );
  after(() => router.stop());
  const workers = await twoWorkers(router.pid);
  const get = async () => {
    const r = await httpGet(`http://127.0.0.1:${port}/`, {
      headers: { host: 'cached.example' },
      timeoutMs: 5000,
    });
    return `${r.status} ${r.text}`;
  };
  for (const w of workers) assert.match(await throughWorker(w, workers, get), /^404 /, `worker ${w} before`);
  const sender = createSocket('udp4');
  after(() => sender.close());
  const set = encodeCacheSync({
    op: 'set',
    key: Buffer.from('cached.example'),
    value: Buffer.from(node.address),
    expires: 0,
  });
  assert.ok(set.ok);
  await new Promise((r) => sender.send(set.packet, udp, '127.0.0.1', r));
  for (const w of workers) {
    await throughWorker(w, workers, () =>
      pollUntil(`worker ${w} routes through the item`, async () =>
        (await get()) === '200 cached-node' ? true : undefined,
      ),
    );
  }
  const del = encodeCacheSync({ op: 'delete', key: Buffer.from('cached.example') });
  assert.ok(del.ok);
  await new Promise((r) => sender.send(del.packet, udp, '127.0.0.1', r));
  for (const w of workers) {
    await throughWorker(w, workers, () =>
      pollUntil(`worker ${w} forgot the item`, async () => (/^404 /.test(await get()) ? true : undefined)),
    );
  }
});

test('sslrouter, 2 workers as nobody: a key only root may read is read by the primary before the drop and served by each worker', {
  skip: process.getuid?.() !== 0 && 'needs root',
  timeout: 90_000,
}, async () => {
  const node = await startUwsgiNode({ app: 'hello.py', protocol: 'http' });
  after(() => node.stop());
  const dir = tmpDir('cluster-root-key'); // 0700, root's
  const crt = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  copyFileSync(dflt.crt, crt);
  copyFileSync(dflt.key, key);
  chmodSync(key, 0o600);
  const port = await freePort();
  const router = await startUwrouter(
    [
      ...['--sslrouter', `127.0.0.1:${port},${crt},${key}`, '--sslrouter-to', node.address],
      ...['--sslrouter-processes', '2', '--uid', 'nobody', '--gid', 'nogroup'],
    ],
    { readyPattern: SERVING },
  );
  after(() => router.stop());
  const workers = await twoWorkers(router.pid);
  for (const w of workers) {
    const res = await throughWorker(w, workers, () => curlHttps(port));
    assert.equal(res.code, 0, `worker ${w}: ${res.stderr}`);
    assert.equal(res.stdout, 'Hello World', `worker ${w}`);
  }
});
