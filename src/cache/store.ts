/**
 * The asynchronous store API of a cache: what the TLS side uses to keep session ids →
 * sessions (spec: ssl-sni-sessions.md §5: binary session-id key, DER value ≤ blocksize,
 * expiry = ssl-sessions-timeout, a plain "set" that leaves an existing id alone). One API
 * over a local cache (answers at once) and a Redis-backed one (one round trip, bounded by a
 * timeout). No method ever rejects: a store that cannot answer is a miss or a write not
 * done, counted in `storeStats()`, so a handshake falls back to a full one and never fails.
 */
import type { UwsgiCache } from './cache.ts';

export interface CacheStoreStats {
  hits: number;
  miss: number;
  /** operations that failed (store unreachable, refused, bad reply), timeouts included */
  errors: number;
  /** operations given up after the store's timeout */
  timeouts: number;
}

export interface CacheStore {
  readonly name: string;
  /** the largest value accepted (blocksize); larger ones are refused (false) */
  readonly maxValueSize: number;
  /** where the items live */
  readonly kind: 'local' | 'redis';
  /** the value, or undefined when absent, expired, too slow or unreachable */
  get(key: Buffer): Promise<Buffer | undefined>;
  /** store only if absent (uWSGI "set", what TLS sessions use); ttl seconds, 0 = never expires */
  set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<boolean>;
  /** store or replace */
  update(key: Buffer, value: Buffer, ttlSeconds: number): Promise<boolean>;
  /** remove; false when absent or not done */
  delete(key: Buffer): Promise<boolean>;
  storeStats(): CacheStoreStats;
}

/** A local cache through the store API (writes are announced to its UDP nodes as usual). */
export class LocalCacheStore implements CacheStore {
  readonly kind = 'local' as const;
  private readonly cache: UwsgiCache;
  private errors = 0;

  constructor(cache: UwsgiCache) {
    this.cache = cache;
  }

  get name(): string {
    return this.cache.name;
  }

  get maxValueSize(): number {
    return this.cache.maxValueSize;
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    return Promise.resolve(this.cache.get(key));
  }

  set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<boolean> {
    return Promise.resolve(this.written(this.cache.set(key, value, ttlSeconds)));
  }

  update(key: Buffer, value: Buffer, ttlSeconds: number): Promise<boolean> {
    return Promise.resolve(this.written(this.cache.update(key, value, ttlSeconds)));
  }

  delete(key: Buffer): Promise<boolean> {
    return Promise.resolve(this.cache.delete(key));
  }

  /** `exists` is the normal outcome of a set on a known key; anything else is an error */
  private written(r: string): boolean {
    if (r === 'ok') return true;
    if (r !== 'exists') this.errors++;
    return false;
  }

  storeStats(): CacheStoreStats {
    return { hits: this.cache.hits, miss: this.cache.miss, errors: this.errors, timeouts: 0 };
  }
}
