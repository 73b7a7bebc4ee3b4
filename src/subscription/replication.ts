/**
 * The subscription table in a cluster (src/cluster/): the primary's table is the only one
 * datagrams reach (signatures are verified once, there: spec README item 10 — uWSGI's
 * siblings re-verify a forwarded copy and refuse it — cannot happen), and every worker holds
 * a replica fed with these deltas. Workers report back what only they see: a connect that
 * failed (the node leaves every replica) and usage counters (requests, bytes, pool hits) so
 * the primary's stats show the whole router.
 *
 * Wire shapes (JSON arrays, the first element says which):
 * - delta `[0, key, name, http, modifier1, modifier2, cores, load, weight, backup, lastCheck,
 *   deathMark, failcnt, sniKey, sniCrt, sniCa]` = the node as it is now (added or refreshed);
 *   `[1, key, name]` = the node is gone.
 * - report `[0, key, name]` = a worker's connect to it failed; `[1, key, name, requests, tx,
 *   rx, poolHits]` = usage since the last report.
 */
import { SubscriptionNode } from './node.ts';
import { SubscriptionPool } from './pool.ts';
import type { SubscriptionTable, SubscriptionTableHooks } from './table.ts';

export type NodeUpsert = [
  op: 0,
  key: string,
  name: string,
  http: 0 | 1,
  modifier1: number,
  modifier2: number,
  cores: number,
  load: number,
  weight: number,
  backup: number,
  lastCheck: number,
  deathMark: number,
  failcnt: number,
  sniKey: string | null,
  sniCrt: string | null,
  sniCa: string | null,
];
export type NodeRemove = [op: 1, key: string, name: string];
export type SubscriptionDelta = NodeUpsert | NodeRemove;

export type NodeFailedReport = [op: 0, key: string, name: string];
export type NodeUsageReport = [
  op: 1,
  key: string,
  name: string,
  requests: number,
  tx: number,
  rx: number,
  poolHits: number,
];
export type SubscriptionReport = NodeFailedReport | NodeUsageReport;

/** The replicated table's name for router `router`. */
export function subscriptionTableName(router: string): string {
  return `subscriptions:${router}`;
}

export function nodeUpsert(node: SubscriptionNode): NodeUpsert {
  const sni = node.pool.sni;
  return [
    0,
    node.pool.key,
    node.name,
    node.http ? 1 : 0,
    node.modifier1,
    node.modifier2,
    node.cores,
    node.load,
    node.weight,
    node.backup,
    node.lastCheck,
    node.deathMark,
    node.failcnt,
    sni?.key ?? null,
    sni?.crt ?? null,
    sni?.ca ?? null,
  ];
}

function idOf(key: string, name: string): string {
  return `${key}\0${name}`;
}

/**
 * The primary's side: publishes every change of its table (through the table's hooks) and
 * applies workers' reports; a cluster TableFeed (src/cluster/replication.ts) carries them.
 */
export class SubscriptionTableSource {
  readonly name: string;
  /** set right after the table is built with `hooks` (the table needs the hooks first) */
  table: SubscriptionTable | null = null;
  publish: (id: string, delta: SubscriptionDelta) => void = () => {};

  constructor(router: string) {
    this.name = subscriptionTableName(router);
  }

  readonly hooks: SubscriptionTableHooks = {
    onNodeAdded: (node) => this.publish(idOf(node.pool.key, node.name), nodeUpsert(node)),
    onNodeRefreshed: (node) => this.publish(idOf(node.pool.key, node.name), nodeUpsert(node)),
    onNodeRemoved: (node) => this.publish(idOf(node.pool.key, node.name), [1, node.pool.key, node.name]),
  };

  *snapshot(): Iterable<SubscriptionDelta> {
    const table = this.table;
    if (!table) return;
    for (const pool of table.pools.values()) for (const node of pool.nodes) yield nodeUpsert(node);
  }

  applyReports(items: readonly SubscriptionReport[]): void {
    const table = this.table;
    if (!table) return;
    for (const r of items) {
      if (!Array.isArray(r) || typeof r[1] !== 'string' || typeof r[2] !== 'string') continue;
      const pool = table.pools.get(r[1]);
      const node = pool?.findNode(r[2]);
      if (r[0] === 0) {
        // the worker logged "marking … as failed"; here it leaves the table (and every
        // replica): the primary holds no session, so nothing keeps a dead node in
        if (node && !node.removed) {
          node.deathMark = 1;
          node.failcnt++;
          table.removeNode(node);
        }
      } else if (r[0] === 1 && pool) {
        pool.hits += Number(r[6]) || 0;
        if (node) {
          const requests = Number(r[3]) || 0;
          node.requests += requests;
          node.lastRequests += requests;
          node.tx += Number(r[4]) || 0;
          node.rx += Number(r[5]) || 0;
        }
      }
    }
  }
}

/**
 * Copies every pool and node of `from` into the empty `to` (a reload rebuilt the subscription
 * system): public keys, SNI material and counters included, so nodes need not re-announce.
 */
export function copyTable(from: SubscriptionTable, to: SubscriptionTable): void {
  for (const old of from.pools.values()) {
    const pool = new SubscriptionPool(old.key, old.publicKey, old.digest);
    pool.sni = old.sni;
    pool.hits = old.hits;
    to.addPool(pool);
    for (const n of old.nodes) {
      const node = new SubscriptionNode(pool, n.name, n.http, {
        modifier1: n.modifier1,
        modifier2: n.modifier2,
        cores: n.cores,
        load: n.load,
        weight: n.weight,
        notify: n.notify,
        backup: n.backup,
        now: n.lastCheck,
      });
      node.requests = n.requests;
      node.lastRequests = n.lastRequests;
      node.tx = n.tx;
      node.rx = n.rx;
      node.failcnt = n.failcnt;
      node.deathMark = n.deathMark;
      to.addNode(pool, node);
    }
  }
}
