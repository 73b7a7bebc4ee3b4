/** The settings, write results and stats fields of one cache (cache.ts). spec: ssl-sni-sessions.md §6 */

export interface CacheSettings {
  name: string;
  /** uWSGI's `items`: slot 0 is reserved, so items − 1 keys fit (spec §6) */
  maxItems: number;
  /** largest value (without bitmap); bitmap caches share blocks × blocksize */
  blocksize: number;
  blocks: number;
  bitmap: boolean;
  keysize: number;
  /** reported in stats only: a JavaScript Map does the hashing */
  hash: string;
  hashsize: number;
  /** when full, evict the least recently used item instead of refusing */
  purgeLru: boolean;
  /** expired items are removed when read, never by the sweeper */
  lazyExpire: boolean;
  /** expiry is never enforced (uWSGI: no sweeper, so expired items stay readable) */
  noExpire: boolean;
  /** no FULL log line */
  ignoreFull: boolean;
  /** when full, remove expired items first, at most every N seconds (0 = off) */
  sweepOnFull: number;
  /** when full (and nothing expired could go), empty the whole cache */
  clearOnFull: boolean;
  /** keep last_modified_at up to date */
  lastModified: boolean;
}

/** Why a write did not happen (`ok` when it did). */
export type CacheWriteResult =
  | 'ok'
  /** `set` on a key that exists (use update) */
  | 'exists'
  /** no free item (or block) left */
  | 'full'
  | 'bad-key'
  | 'bad-value'
  /** an update whose absolute expiry is already past: the key was removed instead */
  | 'expired';

/** The fields of uWSGI's `caches[]` stats entry, in its order (spec §6). */
export interface CacheStatsFields {
  name: string;
  hash: string;
  hashsize: number;
  keysize: number;
  max_items: number;
  blocks: number;
  blocksize: number;
  items: number;
  hits: number;
  miss: number;
  full: number;
  last_modified_at: number;
}
