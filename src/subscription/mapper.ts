/**
 * The router-facing side: `SubscriptionMapper` maps a key to a node lease (spec:
 * corerouter.md §3, §5; subscription.md §3, §8, §9).
 */
import type { BackendAddress, ClientInfo, KeyMapper, NodeLease } from '../corerouter/types.ts';
import type { SubscriptionNode } from './node.ts';
import type { SubscriptionPool } from './pool.ts';
import type { SubscriptionTable } from './table.ts';

export interface SubscriptionMapperOptions {
  /** `subscription-dotsplit` */
  dotsplit?: boolean;
  /** `X-subscription-fallback-key` (ignored with dotsplit, §9) */
  fallbackKey?: string;
}

const PICKED = 0;
const CONNECTED = 1;
const DONE = 2;

/** One pick of one node; exactly one of connected/failed, then release (see NodeLease). */
export class SubscriptionLease implements NodeLease {
  readonly address: BackendAddress;
  readonly modifier1: number;
  readonly modifier2: number;
  readonly node: SubscriptionNode;
  private readonly table: SubscriptionTable;
  private state = PICKED;

  constructor(table: SubscriptionTable, node: SubscriptionNode) {
    this.table = table;
    this.node = node;
    this.address = node.address;
    this.modifier1 = node.modifier1;
    this.modifier2 = node.modifier2;
  }

  connected(): void {
    if (this.state !== PICKED) return;
    this.state = CONNECTED;
    this.node.requests++;
    this.node.lastRequests++;
  }

  /** connect failed: `[uwsgi-X] K => marking A as failed`, death mark, removed if unreferenced (§5) */
  failed(_reason: string): void {
    if (this.state !== PICKED) return;
    this.state = DONE;
    const node = this.node;
    node.ref--;
    if (!node.removed) this.table.markFailed(node, this.table.connectTag, false);
  }

  release(tx: number, rx: number): void {
    if (this.state === DONE) return;
    this.state = DONE;
    const node = this.node;
    node.ref--;
    node.tx += tx;
    node.rx += rx;
    // beyond uWSGI: a dead node leaves as soon as its last session ends (no stale stats)
    if (node.deathMark !== 0 && node.ref <= 0) this.table.removeNode(node);
  }
}

export class SubscriptionMapper implements KeyMapper {
  readonly kind = 'subscription' as const;
  readonly table: SubscriptionTable;
  private readonly dotsplit: boolean;
  private readonly fallbackKey: string | undefined;

  constructor(table: SubscriptionTable, opts: SubscriptionMapperOptions = {}) {
    this.table = table;
    this.dotsplit = opts.dotsplit ?? false;
    this.fallbackKey = opts.dotsplit ? undefined : opts.fallbackKey;
  }

  /** `key` is a latin1 binary string (bytes as received); null = no usable node. */
  pick(key: string, client: ClientInfo): NodeLease | null {
    const table = this.table;
    let pool: SubscriptionPool | undefined = this.dotsplit ? table.getDotsplit(key) : table.get(key);
    let node = pool ? table.pickNode(pool, client.address) : null;
    if (!node && this.fallbackKey !== undefined && this.fallbackKey !== key) {
      pool = table.get(this.fallbackKey);
      node = pool ? table.pickNode(pool, client.address) : null;
    }
    return node ? new SubscriptionLease(table, node) : null;
  }

  /**
   * A key is known while a pool exists for it (or for its dotsplit parents / the fallback
   * key), even when every node in it is dead, and for `subscription-tolerance` seconds after
   * its pool went (a crashed node's vhost is "no live node", not "no such host"). Keys
   * arrive normalised (the router normalises Host, the receiver subscription keys).
   */
  knows(key: string): boolean {
    const table = this.table;
    if (table.knowsKey(key)) return true;
    if (this.fallbackKey !== undefined && table.knowsKey(this.fallbackKey)) return true;
    if (!this.dotsplit) return false;
    // the same ≤ 5 names getDotsplit tries (spec: subscription.md §9); the exact key was tried
    let name = key;
    for (let count = 1; count < 5; count++) {
      const next = name.indexOf('.', 1);
      if (next < 0) return false;
      name = name.slice(next);
      if (table.knowsKey(name)) return true;
    }
    return false;
  }
}
