/**
 * Stats sections (spec: corerouter.md §8): uWSGI's `subscriptions` array, and a uwrouter
 * extension with packet counters by outcome.
 */
import { LazyJsonArray } from '../corerouter/stats-json.ts';
import type { StatsSection } from '../corerouter/types.ts';
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

function poolStats(p: SubscriptionPool): SubscriptionStatsPool {
  return {
    key: p.key,
    hash: p.hash,
    hits: p.hits,
    sni_enabled: p.sniEnabled,
    nodes: p.nodes.map((n) => n.toStats()),
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

  constructor(table: SubscriptionTable) {
    this.table = table;
  }

  statsJson(): LazyJsonArray<SubscriptionStatsPool> {
    this.table.sweep();
    const pools = [...this.table.pools.values()];
    pools.sort((a, b) => a.hash - b.hash || b.hits - a.hits);
    return new LazyJsonArray(pools.length, (i) => poolStats(pools[i]));
  }
}

/** uwrouter extension: `subscription_packets` {datagrams, accepted{…}, rejected{reason: n}}. */
export class SubscriptionCountersStats implements StatsSection {
  readonly statsName = 'subscription_packets';
  private readonly counters: SubscriptionCounters;

  constructor(counters: SubscriptionCounters) {
    this.counters = counters;
  }

  statsJson(): SubscriptionCounters {
    const c = this.counters;
    return { datagrams: c.datagrams, accepted: { ...c.accepted }, rejected: { ...c.rejected } };
  }
}
