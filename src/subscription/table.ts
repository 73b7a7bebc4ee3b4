/**
 * The subscription table: key → pool → nodes, node lifetime (spec: subscription.md §3) and
 * node selection (§8). Packet processing lives in `receiver.ts`, the router-facing lease in
 * `mapper.ts`; both mutate the table only through the methods here.
 */
import type { NodeTableEvents } from '../corerouter/types.ts';
import type { Logger } from '../logger.ts';
import { type Balancer, createBalancer, type SubscriptionAlgo } from './balancers.ts';
import { printable } from './log-limiter.ts';
import type { SubscriptionNode } from './node.ts';
import type { SubscriptionPool } from './pool.ts';

export type RouterTag = 'fastrouter' | 'rawrouter' | 'sslrouter' | 'http';

export interface SubscriptionClock {
  /** epoch seconds (integer, like uWSGI's uwsgi_now()) */
  now(): number;
}

export const systemClock: SubscriptionClock = { now: () => Math.floor(Date.now() / 1000) };

export interface SubscriptionTableHooks {
  onPoolCreated?(pool: SubscriptionPool): void;
  onPoolRemoved?(pool: SubscriptionPool): void;
  onNodeAdded?(node: SubscriptionNode): void;
  onNodeRemoved?(node: SubscriptionNode): void;
  /** an announce refreshed the node (cores/load/weight/last_check, SNI of its pool) */
  onNodeRefreshed?(node: SubscriptionNode): void;
  /** a connect to the node failed (`markFailed`), before it is removed */
  onNodeFailed?(node: SubscriptionNode): void;
  /** `pickNode` chose the node (its `ref` was just taken) */
  onNodePicked?(node: SubscriptionNode): void;
}

/**
 * The TLS side's certificates by subscription (spec: ssl-sni-sessions.md §4), implemented by
 * src/tls/sni-registry.ts: fed every accepted subscribe packet carrying `sni_key` + `sni_crt`
 * (new pool, new node and refresh: uWSGI #581), told when a pool goes, and asked for stats
 * `sni_enabled`. A router without TLS listeners has none: its pools report `sni_enabled` 0.
 */
export interface SubscriptionSniSink {
  attachSubscription(poolKey: string, sni: { key: string; crt: string; ca?: string }): void;
  detachSubscription(poolKey: string): void;
  hasSubscriptionContext(poolKey: string): boolean;
}

export interface SubscriptionTableOptions {
  logger: Logger;
  /** whose table this is: names log lines (`[uWSGI fastrouter pid P]`, `[uwsgi-fastrouter]`) */
  router?: RouterTag;
  /** `subscription-algo`, default wrr */
  algo?: SubscriptionAlgo;
  /** `subscription-tolerance` seconds, default 17 */
  tolerance?: number;
  clock?: SubscriptionClock;
  /** beyond uWSGI: period of the sweep that expires and removes dead nodes; 0 = off; default 1000 */
  sweepIntervalMs?: number;
  hooks?: SubscriptionTableHooks;
  pid?: number;
  /** beyond uWSGI: `subscription-max-keys`, most pools at once; 0 = no bound */
  maxKeys?: number;
  /** beyond uWSGI: `subscription-max-nodes`, most nodes in one pool; 0 = no bound */
  maxNodes?: number;
  /**
   * log a node expiring by tolerance (default true); a cluster worker's replica does not:
   * the primary's table expires the same node and logs it once
   */
  logExpiry?: boolean;
}

/** Bound on remembered removed keys (see `recentlyKnew`) when max-keys gives none. */
const MAX_REMOVED_KEYS = 65536;

export class SubscriptionTable implements NodeTableEvents {
  readonly pools = new Map<string, SubscriptionPool>();
  readonly logger: Logger;
  readonly router: RouterTag;
  readonly algo: SubscriptionAlgo;
  readonly tolerance: number;
  readonly clock: SubscriptionClock;
  readonly hooks: SubscriptionTableHooks;
  readonly pid: number;
  readonly maxKeys: number;
  readonly maxNodes: number;
  /**
   * Keys whose pool went away (last node unsubscribed, failed or expired) → when, in
   * clock seconds; kept for `tolerance` seconds so a request for a vhost whose node just
   * crashed is "known, no live node" (503) rather than "no such host" (404). Insertion
   * order = removal order; bounded.
   */
  private readonly removed = new Map<string, number>();
  private readonly maxRemoved: number;
  private readonly logExpiry: boolean;
  private readonly balancer: Balancer;
  private nodeCount = 0;
  private readonly firstNodeCbs: Array<() => void> = [];
  private readonly lastNodeCbs: Array<() => void> = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  /** the router's TLS certificates by subscription (bound at start-up), or null */
  sni: SubscriptionSniSink | null = null;

  constructor(opts: SubscriptionTableOptions) {
    this.logger = opts.logger;
    this.router = opts.router ?? 'fastrouter';
    this.algo = opts.algo ?? 'wrr';
    this.tolerance = opts.tolerance ?? 17;
    this.clock = opts.clock ?? systemClock;
    this.hooks = opts.hooks ?? {};
    this.pid = opts.pid ?? process.pid;
    this.maxKeys = opts.maxKeys ?? 0;
    this.maxNodes = opts.maxNodes ?? 0;
    this.maxRemoved = this.maxKeys > 0 ? this.maxKeys : MAX_REMOVED_KEYS;
    this.logExpiry = opts.logExpiry ?? true;
    this.balancer = createBalancer(this.algo);
    const every = opts.sweepIntervalMs ?? 1000;
    if (every > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), every);
      this.sweepTimer.unref();
    }
  }

  get size(): number {
    return this.nodeCount;
  }

  // ---- NodeTableEvents (cheap mode, corerouter.md §7)
  onFirstNode(cb: () => void): void {
    this.firstNodeCbs.push(cb);
  }
  onLastNodeGone(cb: () => void): void {
    this.lastNodeCbs.push(cb);
  }
  isEmpty(): boolean {
    return this.nodeCount === 0;
  }

  /** Exact lookup, counting a hit as uWSGI's slot lookup does. */
  get(key: string): SubscriptionPool | undefined {
    const pool = this.pools.get(key);
    if (pool) pool.hits++;
    return pool;
  }

  /** spec: subscription.md §9 — `www.example.com` → `.example.com` → `.com`, ≤ 5 lookups. */
  getDotsplit(key: string): SubscriptionPool | undefined {
    let name = key;
    for (let count = 0; count < 5; count++) {
      const pool = this.get(name);
      if (pool) return pool;
      const next = name.indexOf('.', 1);
      if (next < 0) return undefined;
      name = name.slice(next);
    }
    return undefined;
  }

  /**
   * Whether `key` has a pool, or had one less than `tolerance` seconds ago. Exact key only
   * (the mapper applies dotsplit and the fallback key); no hit is counted.
   */
  knowsKey(key: string): boolean {
    if (this.pools.has(key)) return true;
    const at = this.removed.get(key);
    if (at === undefined) return false;
    if (this.clock.now() - at <= this.tolerance) return true;
    this.removed.delete(key);
    return false;
  }

  addPool(pool: SubscriptionPool): void {
    this.removed.delete(pool.key);
    this.pools.set(pool.key, pool);
    this.hooks.onPoolCreated?.(pool);
  }

  addNode(pool: SubscriptionPool, node: SubscriptionNode): void {
    pool.addNode(node);
    this.nodeCount++;
    this.hooks.onNodeAdded?.(node);
    if (this.nodeCount === 1) for (const cb of this.firstNodeCbs) cb();
  }

  /** Removes a node (and its pool when it was the last one). */
  removeNode(node: SubscriptionNode): void {
    if (node.removed) return;
    const pool = node.pool;
    const empty = pool.removeNode(node);
    this.nodeCount--;
    this.hooks.onNodeRemoved?.(node);
    if (empty && this.pools.get(pool.key) === pool) {
      this.pools.delete(pool.key);
      this.rememberRemoved(pool.key);
      this.sni?.detachSubscription(pool.key);
      this.hooks.onPoolRemoved?.(pool);
    }
    if (this.nodeCount === 0) for (const cb of this.lastNodeCbs) cb();
  }

  private rememberRemoved(key: string): void {
    this.removed.delete(key);
    if (this.removed.size >= this.maxRemoved) {
      const oldest = this.removed.keys().next();
      if (!oldest.done) this.removed.delete(oldest.value);
    }
    this.removed.set(key, this.clock.now());
  }

  /** Forgets removed keys older than the tolerance (oldest first: the Map is in removal order). */
  private expireRemoved(now: number): void {
    for (const [key, at] of this.removed) {
      if (now - at <= this.tolerance) break;
      this.removed.delete(key);
    }
  }

  /**
   * Marks a node failed: `death_mark`, `failcnt++`, logged as uWSGI does; removed when no
   * session holds it. `prefix` is the log tag (`uWSGI fastrouter pid P`, `uwsgi-fastrouter`).
   */
  markFailed(node: SubscriptionNode, prefix: string, onlyIfAlive: boolean): void {
    if (!(onlyIfAlive && node.deathMark !== 0)) {
      this.logger.info(
        `[${prefix}] ${printable(node.pool.key)} => marking ${printable(node.name)} as failed`,
      );
    }
    node.deathMark = 1;
    node.failcnt++;
    this.hooks.onNodeFailed?.(node);
    if (node.ref <= 0) this.removeNode(node);
  }

  /** Stats `sni_enabled`: 1 when the pool's subscription certificate is in service. */
  sniEnabled(pool: SubscriptionPool): number {
    return this.sni?.hasSubscriptionContext(pool.key) ? 1 : 0;
  }

  /** uWSGI's tags for this router's lines */
  get ownTag(): string {
    return `uWSGI ${this.router} pid ${this.pid}`;
  }
  get connectTag(): string {
    return `uwsgi-${this.router}`;
  }

  /** Lazy tolerance expiry (§3). Returns true when the node was removed. */
  private checkLiveness(node: SubscriptionNode, now: number): boolean {
    if (node.deathMark === 0 && node.isExpired(now, this.tolerance)) {
      node.deathMark = 1;
      node.failcnt++;
      if (this.logExpiry)
        this.logger.info(
          `[uwsgi-subscription for pid ${this.pid}] ${printable(node.pool.key)} => marking ${printable(node.name)} as failed (no announce received in ${this.tolerance} seconds)`,
        );
    }
    if (node.deathMark !== 0 && node.ref <= 0) {
      this.removeNode(node);
      return true;
    }
    return false;
  }

  private lowestAliveLevel(pool: SubscriptionPool, now: number): number {
    let level = -1;
    for (const n of pool.nodes) {
      if (n.deathMark !== 0 || n.isExpired(now, this.tolerance)) continue;
      if (level < 0 || n.backup < level) level = n.backup;
    }
    return Math.max(level, 0);
  }

  /**
   * Chooses a node of `pool` (§8): pass 1 walks nodes in order applying liveness then the
   * algorithm's first step; pass 2 runs its second step. The chosen node gets `ref++`.
   */
  pickNode(pool: SubscriptionPool, clientAddress: string): SubscriptionNode | null {
    const now = this.clock.now();
    const level = pool.backupNodes > 0 ? this.lowestAliveLevel(pool, now) : 0;
    let chosen: SubscriptionNode | null = null;
    // pool.nodes is re-read each step: a removal replaces the array (pool.ts)
    for (let i = 0; i < pool.nodes.length; ) {
      const node = pool.nodes[i];
      if (this.checkLiveness(node, now)) continue; // removed: the same index holds the next node
      if (node.backup === level && this.balancer.first(node)) {
        chosen = node;
        break;
      }
      i++;
    }
    if (!chosen) chosen = this.balancer.second(pool.nodes, level, clientAddress);
    if (chosen) {
      chosen.ref++;
      this.hooks.onNodePicked?.(chosen);
    }
    return chosen;
  }

  /**
   * Beyond uWSGI: expire nodes past the tolerance and remove dead unreferenced ones for all
   * pools, so stats and cheap mode never see stale nodes.
   */
  sweep(): void {
    const now = this.clock.now();
    // deleting from a Map while iterating it is well defined in JS
    for (const pool of this.pools.values()) {
      for (let i = 0; i < pool.nodes.length; ) {
        if (!this.checkLiveness(pool.nodes[i], now)) i++;
      }
    }
    this.expireRemoved(now);
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}
