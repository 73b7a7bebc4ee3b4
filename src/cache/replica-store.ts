/**
 * A cluster worker's CacheReplica through the async store API (store.ts), for the TLS 1.2
 * session ids of `--ssl-sessions-use-cache` (src/tls/session-id-cache.ts): reads are the
 * worker's local copy (no round trip), writes apply here at once and go to the primary, which
 * stores them and sends them to every worker within milliseconds, so a session made in one
 * worker resumes in another. The primary's cache decides what is kept (full, exists): a write
 * it refuses is put right in every replica by the key's state it sends back.
 */
import type { CacheSettings } from './cache-types.ts';
import type { CacheReplica } from './replica.ts';
import type { CacheStore, CacheStoreStats } from './store.ts';

/** The largest value a cache with these settings holds (the same rule as UwsgiCache's). */
export function cacheMaxValueSize(s: Pick<CacheSettings, 'bitmap' | 'blocks' | 'blocksize'>): number {
  return s.bitmap ? s.blocks * s.blocksize : s.blocksize;
}

export class ReplicaCacheStore implements CacheStore {
  readonly kind = 'local' as const;
  readonly name: string;
  readonly maxValueSize: number;
  private readonly replica: CacheReplica;
  private hits = 0;
  private miss = 0;

  constructor(replica: CacheReplica, settings: Pick<CacheSettings, 'bitmap' | 'blocks' | 'blocksize'>) {
    this.replica = replica;
    this.name = replica.cacheName;
    this.maxValueSize = cacheMaxValueSize(settings);
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    const v = this.replica.get(key.toString('latin1'));
    if (v === undefined) this.miss++;
    else this.hits++;
    return Promise.resolve(v);
  }

  set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<boolean> {
    return Promise.resolve(this.write(key, value, ttlSeconds, false));
  }

  update(key: Buffer, value: Buffer, ttlSeconds: number): Promise<boolean> {
    return Promise.resolve(this.write(key, value, ttlSeconds, true));
  }

  delete(key: Buffer): Promise<boolean> {
    return Promise.resolve(this.replica.delete(key.toString('latin1')));
  }

  private write(key: Buffer, value: Buffer, ttlSeconds: number, replace: boolean): boolean {
    // the primary's cache would refuse these too; they never reach it
    if (key.length === 0 || value.length === 0 || value.length > this.maxValueSize) return false;
    return this.replica.write(key.toString('latin1'), value, ttlSeconds, replace);
  }

  storeStats(): CacheStoreStats {
    return { hits: this.hits, miss: this.miss, errors: 0, timeouts: 0 };
  }
}
