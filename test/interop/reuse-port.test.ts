/**
 * `--reuse-port` through the uwrouter command (primary + worker): the primary binds the HTTP
 * router's port with SO_REUSEPORT, so a real uWSGI app started with `--reuse-port` listens on
 * the same port and the kernel spreads the connections between the two. Without the option
 * the port is taken: uwrouter refuses to start. Cheap mode with it: cheap-reuse-port.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  freePort,
  httpGet,
  pollUntil,
  ServerStartError,
  startUwrouter,
  startUwsgiNode,
} from './harness/index.ts';

test('--reuse-port: a uWSGI app and the HTTP router share one port, both answer', {
  timeout: 60000,
}, async () => {
  const port = await freePort();
  const app = await startUwsgiNode({
    app: 'whoami.py',
    name: 'local-app',
    protocol: 'http',
    port,
    args: ['--reuse-port'],
  });
  const node = await startUwsgiNode({ app: 'whoami.py', name: 'remote-node' });

  // without --reuse-port the primary's bind fails: the app holds the port
  await assert.rejects(
    startUwrouter(['--http', `127.0.0.1:${port}`, '--http-to', node.address], {
      readyPattern: /spawned uWSGI http 1/,
      waitMs: 8000,
    }),
    (e: unknown) => e instanceof ServerStartError && /EADDRINUSE/.test(e.logs),
  );

  const router = await startUwrouter(
    ['--http', `127.0.0.1:${port}`, '--http-to', node.address, '--reuse-port'],
    { readyPattern: /spawned uWSGI http 1/ },
  );
  // the worker listens once it has started (the spawn line comes first)
  await pollUntil(
    'a request answered through the router',
    async () =>
      (await httpGet(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).body.toString() ===
        'remote-node' || undefined,
    { timeoutMs: 10000 },
  );
  const seen = new Map<string, number>();
  // one connection each: the kernel picks a listener per connection (by its address hash)
  for (let i = 0; i < 40; i++) {
    const res = await httpGet(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
    assert.equal(res.status, 200, router.logs());
    seen.set(res.body.toString(), (seen.get(res.body.toString()) ?? 0) + 1);
  }
  assert.deepEqual([...seen.keys()].sort(), ['local-app', 'remote-node'], JSON.stringify([...seen]));
  assert.ok(router.isRunning() && app.isRunning());
});
