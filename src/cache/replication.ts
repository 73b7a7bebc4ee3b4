/**
 * A cache owned by a cluster primary, replicated to its workers (DESIGN.md "One table of
 * state, replicated"): every change of the primary's table (a UDP sync packet, a store file,
 * expiry, the sweeper, an LRU purge, a write a worker reported) goes out as the key's state
 * now, an upsert or a removal, through the cluster's TableFeed (src/cluster/replication.ts),
 * which sends it to every worker within ~10 ms. A worker's replica is replica.ts.
 *
 * Deltas carry the same facts as the UDP sync's CacheDelta (src/protocol/cache-sync.ts): key,
 * value, absolute expiry; the value travels as base64 (the channel is JSON). What workers
 * send back: writes made through them (applied here as this instance's writes, so the UDP
 * sync announces them to the other nodes as well) and their lookups' hit/miss counters (the
 * instance `--stats` shows the whole instance's).
 */
import type { UwsgiCache } from './cache.ts';

/** `[0, key, value, expires]` upsert · `[1, key]` removal · `[2]` the cache was emptied. */
export type CacheReplicaDelta =
  | [op: 0, key: string, valueBase64: string, expires: number]
  | [op: 1, key: string]
  | [op: 2];

/**
 * `[0, key, value, expiresIn, replace]` a write (replace 1 = update, 0 = set) ·
 * `[1, key]` a removal · `[3, hits, miss]` lookups since the last report.
 */
export type CacheReport =
  | [op: 0, key: string, valueBase64: string, expiresIn: number, replace: 0 | 1]
  | [op: 1, key: string]
  | [op: 3, hits: number, miss: number];

/** The replicated table's name for cache `name`. */
export function cacheTableName(name: string): string {
  return `cache:${name}`;
}

/** Feed ids: one per key, and one for "emptied" (no key can be it: key ids start with `k`). */
const CLEARED_ID = '*';

export class CacheTableSource {
  readonly name: string;
  private readonly cache: UwsgiCache;
  publish: (id: string, delta: CacheReplicaDelta) => void = () => {};

  constructor(cache: UwsgiCache) {
    this.cache = cache;
    this.name = cacheTableName(cache.name);
    cache.onChange((key) => {
      if (key === null) {
        this.publish(CLEARED_ID, [2]);
        return;
      }
      const item = cache.peek(key);
      this.publish(
        `k${key}`,
        item === undefined ? [1, key] : [0, key, item.value.toString('base64'), item.expires],
      );
    });
  }

  /** Every item held now, as upserts (expired ones are left out: a worker would not serve them). */
  *snapshot(): Iterable<CacheReplicaDelta> {
    for (const it of this.cache.entries()) yield [0, it.key, it.value.toString('base64'), it.expires];
  }

  applyReports(items: readonly CacheReport[]): void {
    const cache = this.cache;
    for (const r of items) {
      if (!Array.isArray(r)) continue;
      if (r[0] === 3) {
        cache.hits += Number(r[1]) || 0;
        cache.miss += Number(r[2]) || 0;
      } else if (r[0] === 1 && typeof r[1] === 'string') {
        cache.delete(r[1]);
      } else if (r[0] === 0 && typeof r[1] === 'string' && typeof r[2] === 'string') {
        const value = Buffer.from(r[2], 'base64');
        const expiresIn = Number(r[3]) || 0;
        // a refused write (full, exists) changes nothing here; the worker's own copy is put
        // right by the key's state, sent back below
        const result = r[4] === 1 ? cache.update(r[1], value, expiresIn) : cache.set(r[1], value, expiresIn);
        if (result !== 'ok') this.resend(r[1]);
      }
    }
  }

  /** The key's state as held here, to every worker (a write a worker made was refused). */
  private resend(key: string): void {
    const item = this.cache.peek(key);
    this.publish(
      `k${key}`,
      item === undefined ? [1, key] : [0, key, item.value.toString('base64'), item.expires],
    );
  }
}
