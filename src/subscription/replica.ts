/**
 * A cluster worker's copy of one router's subscription table, fed by the primary's deltas
 * (replication.ts): the router maps keys through it as through a table of its own (reads are
 * local). What only the worker sees goes back as reports: a connect that failed, and usage
 * (requests, bytes, pool hits) gathered from the nodes it picked since the last report.
 */
import type { Logger } from '../logger.ts';
import type { SubscriptionAlgo } from './balancers.ts';
import { SubscriptionMapper } from './mapper.ts';
import { SubscriptionNode } from './node.ts';
import { SubscriptionPool } from './pool.ts';
import {
  type NodeUpsert,
  type NodeUsageReport,
  type SubscriptionDelta,
  type SubscriptionReport,
  subscriptionTableName,
} from './replication.ts';
import {
  type RouterTag,
  type SubscriptionClock,
  type SubscriptionSniSink,
  SubscriptionTable,
} from './table.ts';

export interface SubscriptionReplicaOptions {
  router: RouterTag;
  logger: Logger;
  algo?: SubscriptionAlgo;
  tolerance?: number;
  dotsplit?: boolean;
  fallbackKey?: string;
  clock?: SubscriptionClock;
  /** sends one report to the primary (batched by the caller) */
  report: (item: SubscriptionReport) => void;
}

export class SubscriptionReplica {
  readonly name: string;
  readonly table: SubscriptionTable;
  readonly mapper: SubscriptionMapper;
  /** nodes picked since the last usage report (and those still held by a session) */
  private readonly touched = new Set<SubscriptionNode>();
  private readonly report: (item: SubscriptionReport) => void;

  constructor(opts: SubscriptionReplicaOptions) {
    this.name = subscriptionTableName(opts.router);
    this.report = opts.report;
    this.table = new SubscriptionTable({
      logger: opts.logger,
      router: opts.router,
      algo: opts.algo,
      tolerance: opts.tolerance,
      clock: opts.clock,
      // the primary sweeps and expires; lookups here still skip expired nodes (lazily)
      sweepIntervalMs: 0,
      logExpiry: false,
      hooks: {
        onNodePicked: (node) => this.touched.add(node),
        onNodeFailed: (node) => this.report([0, node.pool.key, node.name]),
      },
    });
    this.mapper = new SubscriptionMapper(this.table, {
      dotsplit: opts.dotsplit,
      fallbackKey: opts.fallbackKey,
    });
  }

  apply(_op: 'snapshot' | 'deltas', items: readonly unknown[]): void {
    for (const d of items as readonly SubscriptionDelta[]) {
      if (!Array.isArray(d) || typeof d[1] !== 'string' || typeof d[2] !== 'string') continue;
      if (d[0] === 0) this.upsert(d as NodeUpsert);
      else if (d[0] === 1) this.remove(d[1], d[2]);
    }
  }

  private upsert(d: NodeUpsert): void {
    const [
      ,
      key,
      name,
      http,
      m1,
      m2,
      cores,
      load,
      weight,
      backup,
      lastCheck,
      deathMark,
      failcnt,
      sk,
      sc,
      sca,
    ] = d;
    const table = this.table;
    let pool = table.pools.get(key);
    let node = pool?.findNode(name);
    if (node && pool) {
      node.refresh(lastCheck, cores, load, weight);
    } else {
      if (!pool) {
        pool = new SubscriptionPool(key);
        table.addPool(pool);
      }
      node = new SubscriptionNode(pool, name, http === 1, {
        modifier1: m1,
        modifier2: m2,
        cores,
        load,
        weight,
        notify: undefined,
        backup,
        now: lastCheck,
      });
      table.addNode(pool, node);
    }
    node.deathMark = deathMark;
    node.failcnt = failcnt;
    if (sk !== null && sc !== null) {
      // every announce with a certificate reaches the TLS side, as it does in one process
      // (receiver.ts updateSni): the primary's table keeps the last one it accepted
      pool.sni = { key: sk, crt: sc, ca: sca ?? undefined };
      table.sni?.attachSubscription(key, pool.sni);
    }
  }

  /**
   * This worker's TLS contexts (sslrouter, HTTPS listeners): the certificates of the pools
   * held now are attached, later ones as they come; a pool that goes is detached (table.ts).
   */
  bindSni(sink: SubscriptionSniSink): void {
    this.table.sni = sink;
    for (const pool of this.table.pools.values()) if (pool.sni) sink.attachSubscription(pool.key, pool.sni);
  }

  private remove(key: string, name: string): void {
    const node = this.table.pools.get(key)?.findNode(name);
    if (!node) return;
    node.deathMark = 1;
    // a session still holding it keeps its object; the lease's release finds it removed
    this.table.removeNode(node);
  }

  /**
   * Usage since the last call, then zeroed here (the primary adds it up); a node still held by
   * a session stays watched, since its release adds bytes.
   */
  usage(): NodeUsageReport[] {
    const out: NodeUsageReport[] = [];
    const poolsSeen = new Set<SubscriptionPool>();
    for (const node of this.touched) {
      const pool = node.pool;
      const hits = poolsSeen.has(pool) ? 0 : pool.hits;
      poolsSeen.add(pool);
      if (node.requests > 0 || node.tx > 0 || node.rx > 0 || hits > 0) {
        out.push([1, pool.key, node.name, node.requests, node.tx, node.rx, hits]);
      }
      node.requests = 0;
      node.tx = 0;
      node.rx = 0;
      if (node.ref <= 0) this.touched.delete(node);
    }
    for (const pool of poolsSeen) pool.hits = 0;
    return out;
  }

  /** Sessions this worker holds per node now: `[key, name, ref]` for nodes with ref > 0. */
  refs(): Array<[string, string, number]> {
    const out: Array<[string, string, number]> = [];
    for (const node of this.touched) if (node.ref > 0) out.push([node.pool.key, node.name, node.ref]);
    return out;
  }

  close(): void {
    this.table.close();
  }
}
