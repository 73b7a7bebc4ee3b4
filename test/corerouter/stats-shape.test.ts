/**
 * Our stats documents against the real uWSGI 2.0.21 captures (README of ../shared/fixtures):
 * the same configuration as the capture — a router with a subscription server, one subscribed
 * node, requests through it — must give the same field names and JSON types. Our extra
 * sections are listed here, one by one.
 *
 * backend-stats.json (an app server's own `--stats`: workers, cores, locks) has no
 * counterpart in a router and is not compared.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import type { CoreRouter } from '../../src/corerouter/router.ts';
import { silentLogger } from '../../src/logger.ts';
import { encodeSubscription } from '../../src/protocol/subscription.ts';
import { encodePacket } from '../../src/protocol/uwsgi.ts';
import { startRouters } from '../../src/start.ts';
import { type FakeNode, rawExchange, startFakeNode } from './fake-node.ts';
import { jsonKind, shapeDifferences } from './stats-shape.ts';

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

const capture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(10);
  }
}

/** A router of `kind` with a subscription server, `node` subscribed under `key` (as the captures). */
async function subscribedRouter(
  kind: 'fastrouter' | 'http',
  key: string,
  node: FakeNode,
): Promise<CoreRouter> {
  const { config } = loadConfig(
    [`--${kind}`, '127.0.0.1:0', `--${kind}-subscription-server`, '127.0.0.1:0'],
    {},
  );
  const running = await startRouters(config, silentLogger(), 'test');
  cleanup.push(() => running.close());
  const [router] = running.routers;
  const udp = router.socketNames()[1];
  const packet = encodeSubscription('subscribe', { key, address: node.address, cores: 1 });
  assert.ok(packet.ok);
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    s.send(packet.packet, Number(udp.slice(udp.lastIndexOf(':') + 1)), '127.0.0.1', (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  s.close();
  await waitFor(() => router.mapper?.knows?.(key) === true);
  return router;
}

function portOf(router: CoreRouter): number {
  const a = router.listeners[0].server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

function statsOf(router: CoreRouter): Record<string, unknown> {
  // the text the stats server sends (renderStats is its render function); parsing it also
  // checks it is valid JSON
  return JSON.parse(router.renderStats()) as Record<string, unknown>;
}

test('fastrouter with a subscription server: the shape of fastrouter-stats.json', async () => {
  const n = await startFakeNode();
  cleanup.push(() => n.close());
  const router = await subscribedRouter('fastrouter', 'fr.example.com', n);
  const req = encodePacket(0, [['HTTP_HOST', 'fr.example.com']], 0);
  assert.ok(req.ok);
  assert.match(await rawExchange(portOf(router), req.packet), /ok-node$/);
  await waitFor(() => router.activeSessions === 0);
  const doc = statsOf(router);
  assert.deepEqual(
    shapeDifferences(capture('fastrouter-stats.json'), doc, {
      // uwrouter's own: datagram counters of the subscription server, outcome counters by code
      extra: ['subscription_packets', 'uwrouter'],
    }),
    [],
  );
});

test('HTTP router with a subscription server: the shape of router-stats.json', async () => {
  const n = await startFakeNode();
  cleanup.push(() => n.close());
  const router = await subscribedRouter('http', 'example.com', n);
  const out = await rawExchange(
    portOf(router),
    'GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n',
  );
  assert.match(out, /^HTTP\/1\.1 200 /);
  await waitFor(() => router.activeSessions === 0);
  assert.deepEqual(
    shapeDifferences(capture('router-stats.json'), statsOf(router), {
      // uwrouter's own: subscription datagram counters, HTTP request counters, counters by code
      extra: ['subscription_packets', 'http_router', 'uwrouter'],
    }),
    [],
  );
});

test('the shape comparison finds what differs', () => {
  const ref = {
    a: 1,
    list: ['x'],
    nodes: [{ name: 'n', hits: 2, grace: 0 }],
    cheap: 0,
  };
  assert.deepEqual(shapeDifferences(ref, structuredClone(ref)), []);
  const cases: Array<[string, unknown, string[]]> = [
    ['missing field', { ...ref, cheap: undefined }, ['cheap: missing (uWSGI has it)']],
    ['type', { ...ref, a: '1' }, ['a: uWSGI has integer, ours is string']],
    ['float where uWSGI prints an integer', { ...ref, a: 1.5 }, ['a: uWSGI has integer, ours is number']],
    ['type inside an array', { ...ref, list: [1] }, ['list[]: uWSGI has string, ours is integer']],
    [
      'field of an array element',
      {
        ...ref,
        nodes: [
          { name: 'n', hits: 2, grace: 0 },
          { name: 'm', hits: 2 },
        ],
      },
      ['nodes[].grace: missing (uWSGI has it)'],
    ],
    [
      'empty array where the capture has elements',
      { ...ref, nodes: [] },
      ['nodes: empty, the capture has elements (set the test up so it has some)'],
    ],
    [
      'unlisted extra field',
      { ...ref, more: 1 },
      ["more: not in uWSGI's capture (list it as extra if meant)"],
    ],
    [
      'order',
      { cheap: 0, a: 1, list: ['x'], nodes: ref.nodes },
      ['(document): field order cheap,a,list,nodes, uWSGI a,list,nodes,cheap'],
    ],
  ];
  for (const [why, ours, expected] of cases) {
    const clean = JSON.parse(JSON.stringify(ours)) as unknown; // drops the undefined field
    assert.deepEqual(shapeDifferences(ref, clean), expected, why);
  }
  // allowances must be exact: a listed path that does not occur is reported
  assert.deepEqual(shapeDifferences(ref, { ...ref, more: 1 }, { extra: ['more'] }), []);
  assert.deepEqual(shapeDifferences(ref, ref, { extra: ['more'], absent: ['cheap'] }), [
    'more: listed as allowed but does not occur',
    'cheap: listed as allowed but does not occur',
  ]);
  assert.equal(jsonKind(null), 'null');
  assert.equal(jsonKind({}), 'object');
});
