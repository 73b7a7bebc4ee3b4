/**
 * Stats sections (spec: corerouter.md §8): uWSGI's `subscriptions` array, and a uwrouter
 * extension with packet counters by outcome.
 */
import { LazyJsonArray } from '../corerouter/stats-json.ts';
import type { StatsSection } from '../corerouter/types.ts';
import type { SubscriptionNode } from './node.ts';
import type { SubscriptionCounters } from './outcomes.ts';
import type { SubscriptionPool } from './pool.ts';
import type { SubscriptionTable } from './table.ts';

export interface SubscriptionStatsPool {
  key: string;
  hash: number;
  hits: number;
  sni_enabled: number;
  nodes: Array<Record<string, number | string>>;
}

/** Open sessions per node held elsewhere (a cluster primary's table: the workers' leases). */
export type NodeRefs = (node: SubscriptionNode) => number;

function poolStats(
  table: SubscriptionTable,
  p: SubscriptionPool,
  refs: NodeRefs | undefined,
): SubscriptionStatsPool {
  return {
    key: p.key,
    hash: p.hash,
    hits: p.hits,
    sni_enabled: table.sniEnabled(p),
    nodes: p.nodes.map((n) => {
      const s = n.toStats();
      if (refs) s.ref = refs(n);
      return s;
    }),
  };
}

/**
 * `subscriptions`: pools by bucket (hash) order, more-hit first within a bucket, as uWSGI
 * lists them (§10). The table is swept first so no expired node is shown. The list is lazy:
 * a pool's object is built when the stats server writes it (a pool removed meanwhile is
 * still shown as it was when the fetch began; its nodes as they are when written).
 */
export class SubscriptionsStats implements StatsSection {
  readonly statsName = 'subscriptions';
  private readonly table: SubscriptionTable;
  /** where `ref` comes from when the sessions are not this table's (set per document) */
  refs: NodeRefs | undefined;

  constructor(table: SubscriptionTable) {
    this.table = table;
  }

  statsJson(): LazyJsonArray<SubscriptionStatsPool> {
    this.table.sweep();
    const pools = [...this.table.pools.values()];
    pools.sort((a, b) => a.hash - b.hash || b.hits - a.hits);
    const table = this.table;
    const refs = this.refs;
    return new LazyJsonArray(pools.length, (i) => poolStats(table, pools[i], refs));
  }
}

/** Datagrams lost before processing: by the kernel (receive buffer full) and by the read queue. */
export interface DropCounts {
  /** undefined where /proc does not say */
  kernel: number | undefined;
  queue: number;
}

/**
 * uwrouter extension: `subscription_packets` {datagrams, accepted{…}, rejected{reason: n},
 * kernel_drops, queue_drops}.
 */
export class SubscriptionCountersStats implements StatsSection {
  readonly statsName = 'subscription_packets';
  private readonly counters: SubscriptionCounters;
  private readonly drops: () => DropCounts;

  constructor(
    counters: SubscriptionCounters,
    drops: () => DropCounts = () => ({ kernel: undefined, queue: 0 }),
  ) {
    this.counters = counters;
    this.drops = drops;
  }

  statsJson(): SubscriptionCounters & { kernel_drops?: number; queue_drops: number } {
    const c = this.counters;
    const d = this.drops();
    return {
      datagrams: c.datagrams,
      accepted: { ...c.accepted },
      rejected: { ...c.rejected },
      kernel_drops: d.kernel,
      queue_drops: d.queue,
    };
  }
}
