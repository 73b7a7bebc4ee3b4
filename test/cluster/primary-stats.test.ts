/**
 * A router's stats document from several workers (src/cluster/primary-stats.ts): uWSGI's
 * fields in uWSGI's order, figures summed over workers, the primary's own sections in place.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkerStatsAnswer } from '../../src/cluster/messages.ts';
import { mergeStatsDocuments, type WorkerFigures } from '../../src/cluster/primary-stats.ts';

function workerDoc(pid: number, sessions: number, hits: number, grace: number, cheap: number) {
  return {
    version: '0.1.0-uwrouter',
    pid,
    uid: 0,
    gid: 0,
    cwd: '/',
    active_sessions: sessions,
    http: ['127.0.0.1:8080'],
    static_nodes: [
      { name: '127.0.0.1:3031', hits, grace },
      { name: '127.0.0.1:3032', hits: 1, grace: 0 },
    ],
    subscriptions: null,
    subscription_packets: null,
    http_router: { requests: hits + 1, keepalive_requests: 0, websockets: sessions },
    cheap,
    uwrouter: { counters: { UWR_ERR_CONNECT: pid % 10 } },
  };
}

function figure(pid: number, doc: ReturnType<typeof workerDoc> | null, current = true): WorkerFigures {
  const answer: WorkerStatsAnswer | null = doc
    ? { t: 'stats', id: 1, doc, refs: {}, sni: {}, pid, accepted: pid * 10 }
    : null;
  return { title: `uWSGI http ${pid}`, pid, generation: 1, state: 'ready', answer, current };
}

const parts = {
  routerName: 'http',
  version: '0.1.0-uwrouter',
  socketNames: ['127.0.0.1:8080', '127.0.0.1:2626'],
  sections: [
    { statsName: 'subscriptions', statsJson: () => [{ key: 'a' }] },
    { statsName: 'subscription_packets', statsJson: () => ({ datagrams: 3 }) },
  ],
  counters: new Map([['UWR_ERR_STATS_BUSY', 2]]),
};

test('figures of every worker add up; order, pid and sockets are the primary’s', () => {
  const doc = mergeStatsDocuments(parts, [
    figure(1, workerDoc(1, 2, 10, 0, 1)),
    figure(2, workerDoc(2, 3, 5, 1795240000, 1)),
    figure(3, null),
  ]);
  assert.deepEqual(Object.keys(doc), [
    'version',
    'pid',
    'uid',
    'gid',
    'cwd',
    'active_sessions',
    'http',
    'static_nodes',
    'subscriptions',
    'subscription_packets',
    'http_router',
    'cheap',
    'uwrouter',
  ]);
  assert.equal(doc.pid, process.pid);
  assert.equal(doc.active_sessions, 5);
  assert.deepEqual(doc.http, ['127.0.0.1:8080', '127.0.0.1:2626']);
  assert.deepEqual(doc.static_nodes, [
    { name: '127.0.0.1:3031', hits: 15, grace: 1795240000 },
    { name: '127.0.0.1:3032', hits: 2, grace: 0 },
  ]);
  assert.deepEqual(doc.subscriptions, [{ key: 'a' }]);
  assert.deepEqual(doc.subscription_packets, { datagrams: 3 });
  assert.deepEqual(doc.http_router, { requests: 17, keepalive_requests: 0, websockets: 5 });
  assert.equal(doc.cheap, 1);
  const u = doc.uwrouter as { counters: Record<string, number>; processes: Array<Record<string, unknown>> };
  assert.deepEqual(u.counters, { UWR_ERR_STATS_BUSY: 2, UWR_ERR_CONNECT: 3 });
  assert.deepEqual(
    u.processes.map((p) => [p.pid, p.accepted, p.active_sessions, p.answered]),
    [
      [1, 10, 2, true],
      [2, 20, 3, true],
      [3, 0, 0, false],
    ],
  );
});

test('cheap is 1 only while every serving worker is cheap; draining workers do not count', () => {
  const one = (cheapA: number, cheapB: number, bCurrent: boolean) =>
    mergeStatsDocuments(parts, [
      figure(1, workerDoc(1, 0, 0, 0, cheapA)),
      figure(2, workerDoc(2, 0, 0, 0, cheapB), bCurrent),
    ]).cheap;
  assert.equal(one(1, 1, true), 1);
  assert.equal(one(1, 0, true), 0);
  assert.equal(one(1, 0, false), 1);
});

test('no worker answered: the primary’s parts still make a document', () => {
  const doc = mergeStatsDocuments(parts, [figure(1, null)]);
  assert.equal(doc.active_sessions, 0);
  assert.deepEqual(doc.subscriptions, [{ key: 'a' }]);
  assert.equal(doc.cheap, 0);
  assert.ok('uwrouter' in doc);
});
