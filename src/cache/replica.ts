/**
 * A cluster worker's copy of one cache the primary owns (replication.ts has the primary's
 * side): the `X-use-cache` mapper reads it as it would read the cache itself (reads are
 * local, no round trip). It mirrors the primary's table, so it enforces no capacity of its
 * own (the primary decides what is stored, purged or swept, and says so); expiry is checked
 * on read as the cache does (absolute times, the same clock). Writes made through the worker
 * apply here at once and go to the primary, which stores them and sends the result to every
 * worker; lookups are counted here and reported (the instance stats add them up).
 */
import { nowSeconds } from './cache.ts';
import { type CacheReplicaDelta, type CacheReport, cacheTableName } from './replication.ts';
import type { RouteCache } from './system.ts';

interface ReplicaItem {
  value: Buffer;
  /** absolute epoch seconds; 0 = never */
  expires: number;
  /** lookups of this item in this worker (the `A1|A2` rotation, as uWSGI's per-item hits) */
  hits: number;
}

export interface CacheReplicaOptions {
  /** the cache's name (`default` for `--cache N`) */
  cache: string;
  /** `no_expire` / `--cache-no-expire`: expired items stay readable, as in the cache */
  noExpire: boolean;
  /** sends one report to the primary (batched by the caller) */
  report: (item: CacheReport) => void;
  clock?: () => number;
}

export class CacheReplica implements RouteCache {
  readonly name: string;
  readonly cacheName: string;
  private readonly items = new Map<string, ReplicaItem>();
  private readonly noExpire: boolean;
  private readonly clock: () => number;
  private readonly send: (item: CacheReport) => void;
  private hits = 0;
  private miss = 0;

  constructor(o: CacheReplicaOptions) {
    this.cacheName = o.cache;
    this.name = cacheTableName(o.cache);
    this.noExpire = o.noExpire;
    this.clock = o.clock ?? nowSeconds;
    this.send = o.report;
  }

  get size(): number {
    return this.items.size;
  }

  apply(_op: 'snapshot' | 'deltas', items: readonly unknown[]): void {
    for (const d of items as readonly CacheReplicaDelta[]) {
      if (!Array.isArray(d)) continue;
      if (d[0] === 0 && typeof d[1] === 'string' && typeof d[2] === 'string') {
        const old = this.items.get(d[1]);
        const value = Buffer.from(d[2], 'base64');
        const expires = Number(d[3]) || 0;
        if (old) {
          old.value = value;
          old.expires = expires;
        } else this.items.set(d[1], { value, expires, hits: 0 });
      } else if (d[0] === 1 && typeof d[1] === 'string') this.items.delete(d[1]);
      else if (d[0] === 2) this.items.clear();
    }
  }

  private live(key: string): ReplicaItem | undefined {
    const item = this.items.get(key);
    if (item === undefined) return undefined;
    if (item.expires !== 0 && !this.noExpire && item.expires <= this.clock()) {
      // the primary removes it too (lazily or by its sweeper) and says so
      this.items.delete(key);
      return undefined;
    }
    return item;
  }

  lookupRoute(key: string): { value: Buffer; hits: number } | undefined {
    const item = this.live(key);
    if (item === undefined) {
      this.miss++;
      return undefined;
    }
    this.hits++;
    return { value: item.value, hits: item.hits++ };
  }

  has(key: Buffer | string): boolean {
    return this.live(typeof key === 'string' ? key : key.toString('latin1')) !== undefined;
  }

  /** The value, counted (uWSGI's cache_get). */
  get(key: string): Buffer | undefined {
    const item = this.live(key);
    if (item === undefined) {
      this.miss++;
      return undefined;
    }
    this.hits++;
    item.hits++;
    return item.value;
  }

  /**
   * A write made through this worker (`replace` false = uWSGI's cache_set, only if absent):
   * seen here at once, stored by the primary, whose answer every worker gets. False when the
   * key exists and `replace` is false.
   */
  write(key: string, value: Buffer, expiresIn: number, replace: boolean): boolean {
    if (!replace && this.live(key) !== undefined) return false;
    const expires = expiresIn > 0 ? this.clock() + expiresIn : 0;
    const old = this.items.get(key);
    if (old) {
      old.value = Buffer.from(value);
      old.expires = expires;
    } else this.items.set(key, { value: Buffer.from(value), expires, hits: 0 });
    this.send([0, key, value.toString('base64'), expiresIn, replace ? 1 : 0]);
    return true;
  }

  delete(key: string): boolean {
    const had = this.live(key) !== undefined;
    this.items.delete(key);
    this.send([1, key]);
    return had;
  }

  /** Lookups since the last call, then zeroed (the primary adds them to the cache's counters). */
  usage(): CacheReport | null {
    if (this.hits === 0 && this.miss === 0) return null;
    const r: CacheReport = [3, this.hits, this.miss];
    this.hits = 0;
    this.miss = 0;
    return r;
  }
}
