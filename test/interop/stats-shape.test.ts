/**
 * Stats documents side by side with the real uWSGI routers (spec: corerouter.md §8): uWSGI's
 * fastrouter / HTTP router and uwrouter get the same options and the same traffic from a real
 * uWSGI node, and their stats documents must have the same field names and JSON types
 * (test/corerouter/stats-shape.ts). This covers what the captures in test/fixtures do not:
 * `static_nodes` (`--X-to`). Our extra sections are listed one by one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { shapeDifferences } from '../corerouter/stats-shape.ts';
import {
  freePort,
  pollUntil,
  rawRequest,
  readStatsJson,
  type ServerHandle,
  startUwrouter,
  startUwsgiNode,
  startUwsgiRouter,
  uwsgiPacket,
} from './harness/index.ts';

type Kind = 'fastrouter' | 'http';

/** uwrouter's own sections: counters by outcome code; subscription datagram counters; HTTP counters */
const OUR_EXTRA: Record<Kind, { static: string[]; subscription: string[] }> = {
  fastrouter: { static: ['uwrouter'], subscription: ['subscription_packets', 'uwrouter'] },
  http: {
    static: ['http_router', 'uwrouter'],
    subscription: ['subscription_packets', 'http_router', 'uwrouter'],
  },
};

interface Pair {
  uwsgi: { port: number; stats: number; sub: number };
  ours: { port: number; stats: number; sub: number };
}

async function ports(): Promise<Pair> {
  const p = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  return { uwsgi: { port: p[0], stats: p[1], sub: p[2] }, ours: { port: p[3], stats: p[4], sub: p[5] } };
}

function routerArgs(kind: Kind, side: Pair['uwsgi'], nodes: string[]): string[] {
  return [`--${kind}`, `127.0.0.1:${side.port}`, `--${kind}-stats`, `127.0.0.1:${side.stats}`, ...nodes];
}

async function startPair(kind: Kind, p: Pair, nodeArgs: (side: Pair['uwsgi']) => string[]): Promise<void> {
  const [u, o] = await Promise.all([
    startUwsgiRouter(kind, routerArgs(kind, p.uwsgi, nodeArgs(p.uwsgi))),
    startUwrouter(routerArgs(kind, p.ours, nodeArgs(p.ours))),
  ]);
  stoppers.push(
    () => u.stop(),
    () => o.stop(),
  );
}

/** One request through the router on `port`; resolves with what came back. */
function oneRequest(kind: Kind, port: number, host: string): Promise<Buffer> {
  const req =
    kind === 'http'
      ? `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`
      : uwsgiPacket({ REQUEST_METHOD: 'GET', PATH_INFO: '/', HTTP_HOST: host, SERVER_PROTOCOL: 'HTTP/1.1' });
  return rawRequest(port, req);
}

/** The stats document once the request is over (active_sessions back to 0). */
function settledStats(port: number): Promise<Record<string, unknown>> {
  return pollUntil(
    `stats on ${port}`,
    async () => {
      const d = await readStatsJson<Record<string, unknown>>(port);
      return d.active_sessions === 0 ? d : undefined;
    },
    { retryErrors: true },
  );
}

const stoppers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const s of stoppers.reverse()) await s();
});

describe("stats documents have the shape of uWSGI's routers' (live uWSGI 2.0.21)", () => {
  let node: ServerHandle;
  before(async () => {
    node = await startUwsgiNode({ app: 'hello.py', name: 'static' });
    stoppers.push(() => node.stop());
  });

  for (const kind of ['fastrouter', 'http'] as const) {
    test(`${kind} with --${kind}-to: same fields as uWSGI (static_nodes)`, async () => {
      const p = await ports();
      await startPair(kind, p, () => [`--${kind}-to`, node.address]);
      for (const side of [p.uwsgi, p.ours]) {
        assert.match((await oneRequest(kind, side.port, 'example.com')).toString('latin1'), /Hello/);
      }
      const [theirs, ours] = await Promise.all([settledStats(p.uwsgi.stats), settledStats(p.ours.stats)]);
      assert.ok(Array.isArray(theirs.static_nodes), "uWSGI's document has static_nodes");
      assert.deepEqual(shapeDifferences(theirs, ours, { extra: OUR_EXTRA[kind].static }), []);
    });

    test(`${kind} with a subscription server and a subscribed uWSGI node: same fields as uWSGI`, async () => {
      const p = await ports();
      await startPair(kind, p, (side) => [`--${kind}-subscription-server`, `127.0.0.1:${side.sub}`]);
      const key = `${kind}.example.com`;
      // a real uWSGI node subscribing to both routers
      const sub = await startUwsgiNode({
        app: 'hello.py',
        name: 'subscribed',
        args: [
          '--subscribe-to',
          `127.0.0.1:${p.uwsgi.sub}:${key}`,
          '--subscribe-to',
          `127.0.0.1:${p.ours.sub}:${key}`,
        ],
      });
      stoppers.push(() => sub.stop());
      for (const side of [p.uwsgi, p.ours]) {
        // routable as soon as the first announce is in
        await pollUntil(
          `${key} routed on ${side.port}`,
          async () =>
            /Hello/.test((await oneRequest(kind, side.port, key)).toString('latin1')) ? true : undefined,
          { retryErrors: true },
        );
      }
      const [theirs, ours] = await Promise.all([settledStats(p.uwsgi.stats), settledStats(p.ours.stats)]);
      assert.ok(Array.isArray(theirs.subscriptions), "uWSGI's document has subscriptions");
      assert.deepEqual(shapeDifferences(theirs, ours, { extra: OUR_EXTRA[kind].subscription }), []);
    });
  }
});
