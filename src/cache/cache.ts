/**
 * One uWSGI cache (spec: ssl-sni-sessions.md §6): a bounded table of binary key → binary
 * value with per-item expiry, uWSGI's capacity rules and stats. It lives in this process's
 * memory (no shared-memory image), so it is the one table a cluster primary would own and
 * replicate by deltas (DESIGN.md "One table of state, replicated"): every local write is
 * announced to the `onDelta` listeners (the UDP sync sender is one), and `applyDelta` takes
 * changes from elsewhere without announcing them again.
 *
 * Keys are held as latin1 strings (one char per byte), so binary keys (TLS session ids) and
 * router keys (Host names, read as latin1) are the same thing.
 */
import type { Logger } from '../logger.ts';
import type { CacheDelta } from '../protocol/cache-sync.ts';
import type { CacheSettings, CacheStatsFields, CacheWriteResult } from './cache-types.ts';
import { ExpiryIndex } from './expiry-index.ts';

export type { CacheSettings, CacheStatsFields, CacheWriteResult } from './cache-types.ts';

interface Item {
  value: Buffer;
  /** absolute epoch seconds; 0 = never */
  expires: number;
  hits: number;
  /** blocks held (bitmap caches; 1 otherwise) */
  blocks: number;
}

export type DeltaListener = (delta: CacheDelta) => void;
/** A key whose item changed or went, whatever the cause; null = the whole cache was emptied. */
export type ChangeListener = (key: string | null) => void;

/** At most one FULL line per this many seconds per cache (uWSGI logs every refused write). */
const FULL_LOG_INTERVAL_S = 10;

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function cacheKeyString(key: Buffer | string): string {
  return typeof key === 'string' ? key : key.toString('latin1');
}

function keyBuffer(key: Buffer | string): Buffer {
  return typeof key === 'string' ? Buffer.from(key, 'latin1') : key;
}

export class UwsgiCache {
  readonly settings: Readonly<CacheSettings>;
  readonly name: string;
  /** the largest value one item may hold */
  readonly maxValueSize: number;
  private readonly items = new Map<string, Item>();
  private readonly expiry: ExpiryIndex | null;
  private readonly listeners: DeltaListener[] = [];
  private readonly changeListeners: ChangeListener[] = [];
  private readonly log: Logger;
  private readonly clock: () => number;
  private usedBlocks = 0;
  private nextSweepOnFull = 0;
  private fullLoggedAt = -Infinity;
  private fullUnlogged = 0;
  hits = 0;
  miss = 0;
  full = 0;
  lastModifiedAt = 0;
  /** grows with every change of the table (the store file writes when it moved) */
  changes = 0;

  constructor(settings: CacheSettings, log: Logger, clock: () => number = nowSeconds) {
    this.settings = settings;
    this.name = settings.name;
    this.maxValueSize = settings.bitmap ? settings.blocks * settings.blocksize : settings.blocksize;
    this.log = log;
    this.clock = clock;
    // the sweeper's index, only where a sweeper runs (spec §6: not with purge_lru, lazy, no_expire)
    this.expiry = this.sweeps ? new ExpiryIndex() : null;
  }

  /** Does the periodic sweeper remove this cache's expired items? */
  get sweeps(): boolean {
    const s = this.settings;
    return !s.noExpire && !s.purgeLru && !s.lazyExpire;
  }

  /** Keys held now (expired items included until swept or read, as uWSGI counts them). */
  get size(): number {
    return this.items.size;
  }

  /** Hears every successful local write (not sweeper or LRU removals, not applied deltas). */
  onDelta(listener: DeltaListener): void {
    this.listeners.push(listener);
  }

  /**
   * Hears every change of the table, whatever made it: local writes, applied deltas (UDP
   * sync, store files), expiry, the sweeper, LRU purges, clears. A cluster primary
   * replicates the table to its workers from this (src/cache/replication.ts).
   */
  onChange(listener: ChangeListener): void {
    this.changeListeners.push(listener);
  }

  /** The item of `key` as held, expired or not; not counted, not touched. */
  peek(key: string): { value: Buffer; expires: number } | undefined {
    return this.items.get(key);
  }

  private expired(item: Item, now: number): boolean {
    return item.expires !== 0 && item.expires <= now && !this.settings.noExpire;
  }

  /** The live item of `k`, removing it when it has expired (lazily, whatever the mode). */
  private live(k: string): Item | undefined {
    const item = this.items.get(k);
    if (item === undefined) return undefined;
    if (item.expires !== 0 && this.expired(item, this.clock())) {
      this.remove(k, item);
      return undefined;
    }
    return item;
  }

  /** The value, counted as a hit or a miss (uWSGI's cache_get). */
  get(key: Buffer | string): Buffer | undefined {
    const k = cacheKeyString(key);
    const item = this.live(k);
    if (item === undefined) {
      this.miss++;
      return undefined;
    }
    if (this.settings.purgeLru) this.touch(k, item);
    item.hits++;
    this.hits++;
    return item.value;
  }

  /**
   * The value and the item's hit count before this lookup, counted as a hit (uWSGI's
   * cache_get4, which the cache mapper uses to rotate through `A1|A2` nodes).
   */
  lookupRoute(key: string): { value: Buffer; hits: number } | undefined {
    const item = this.live(key);
    if (item === undefined) {
      this.miss++;
      return undefined;
    }
    const hits = item.hits++;
    this.hits++;
    return { value: item.value, hits };
  }

  /** Is there a live item for `key`? Not counted as a hit or miss. */
  has(key: Buffer | string): boolean {
    return this.live(cacheKeyString(key)) !== undefined;
  }

  /** Absolute expiry of a live item (0 = never), or undefined. Not counted. */
  expiresOf(key: Buffer | string): number | undefined {
    return this.live(cacheKeyString(key))?.expires;
  }

  /** uWSGI's cache_set: store only if the key is absent. `expiresIn` seconds, 0 = never. */
  set(key: Buffer | string, value: Buffer, expiresIn = 0): CacheWriteResult {
    return this.write(key, value, this.absolute(expiresIn), false, true);
  }

  /** uWSGI's cache_update: store or replace. */
  update(key: Buffer | string, value: Buffer, expiresIn = 0): CacheWriteResult {
    return this.write(key, value, this.absolute(expiresIn), true, true);
  }

  /** Removes a key; false when it was not there. */
  delete(key: Buffer | string): boolean {
    const k = cacheKeyString(key);
    const item = this.live(k);
    if (item === undefined) return false;
    this.remove(k, item);
    this.modified();
    this.emit({ op: 'delete', key: keyBuffer(key) });
    return true;
  }

  /** Empties the cache (local; not announced, as uWSGI's cache_clear). */
  clear(): void {
    this.items.clear();
    this.expiry?.clear();
    this.usedBlocks = 0;
    this.modified();
    for (const l of this.changeListeners) l(null);
  }

  /**
   * A change from elsewhere (a UDP sync packet, a cluster primary): set-or-update with an
   * absolute expiry, or delete; never announced again (spec §7: "marked local").
   */
  applyDelta(delta: CacheDelta): CacheWriteResult | 'deleted' | 'absent' {
    if (delta.op === 'delete') {
      const k = cacheKeyString(delta.key);
      const item = this.items.get(k);
      if (item === undefined) return 'absent';
      this.remove(k, item);
      this.modified();
      return 'deleted';
    }
    return this.write(delta.key, delta.value, delta.expires, true, false);
  }

  private absolute(expiresIn: number): number {
    return expiresIn > 0 ? this.clock() + expiresIn : 0;
  }

  private blocksFor(length: number): number {
    return this.settings.bitmap ? Math.ceil(length / this.settings.blocksize) : 1;
  }

  private write(
    key: Buffer | string,
    value: Buffer,
    expires: number,
    replace: boolean,
    announce: boolean,
  ): CacheWriteResult {
    const k = cacheKeyString(key);
    if (k.length === 0 || k.length > this.settings.keysize) return 'bad-key';
    if (value.length === 0 || value.length > this.maxValueSize) return 'bad-value';
    const existing = this.live(k);
    if (expires !== 0 && expires <= this.clock() && !this.settings.noExpire) {
      // already past (a late sync packet): the item would never be readable
      if (existing !== undefined && replace) {
        this.remove(k, existing);
        this.modified();
      }
      return 'expired';
    }
    const need = this.blocksFor(value.length);
    if (existing !== undefined && !replace) return 'exists';
    if (existing !== undefined && this.settings.bitmap && this.usedBlocks + need > this.settings.blocks) {
      // bitmap: the new blocks are taken before the old ones are given back (uWSGI, and
      // t/cachebitmap.py test_overlapping asserts it)
      this.onFull();
      // an LRU purge or clear_on_full may have removed this very item: then it is a new one
      if (this.items.get(k) !== existing) return this.write(key, value, expires, replace, announce);
      if (this.usedBlocks + need > this.settings.blocks) return 'full';
    }
    if (existing !== undefined) {
      this.usedBlocks += need - existing.blocks;
      existing.blocks = need;
      existing.value = Buffer.from(value);
      if (existing.expires !== expires) {
        this.expiry?.move(k, existing.expires, expires);
        existing.expires = expires;
      }
      if (this.settings.purgeLru) this.touch(k, existing);
    } else {
      if (!this.hasRoom(need)) {
        this.onFull();
        if (!this.hasRoom(need)) return 'full';
      }
      this.items.set(k, { value: Buffer.from(value), expires, hits: 0, blocks: need });
      this.usedBlocks += need;
      if (expires !== 0) this.expiry?.add(k, expires);
    }
    this.modified();
    for (const l of this.changeListeners) l(k);
    if (announce) this.emit({ op: 'set', key: keyBuffer(key), value, expires });
    return 'ok';
  }

  private hasRoom(need: number): boolean {
    if (this.items.size >= this.settings.maxItems - 1) return false;
    return !this.settings.bitmap || this.usedBlocks + need <= this.settings.blocks;
  }

  /** Map order is the LRU order: a used item moves to the end. */
  private touch(k: string, item: Item): void {
    this.items.delete(k);
    this.items.set(k, item);
  }

  private remove(k: string, item: Item): void {
    this.items.delete(k);
    this.usedBlocks -= item.blocks;
    if (item.expires !== 0) this.expiry?.remove(k, item.expires);
    for (const l of this.changeListeners) l(k);
  }

  private modified(): void {
    this.changes++;
    if (this.settings.lastModified) this.lastModifiedAt = this.clock();
  }

  private emit(delta: CacheDelta): void {
    for (const l of this.listeners) l(delta);
  }

  /** spec §6: the FULL line (or the LRU purge), then sweep_on_full, then clear_on_full. */
  private onFull(): void {
    const s = this.settings;
    this.full++;
    if (!s.ignoreFull) this.logFull();
    if (s.purgeLru) {
      const oldest = this.items.keys().next();
      if (!oldest.done) this.remove(oldest.value, this.items.get(oldest.value)!);
      return;
    }
    let removed = 0;
    if (s.sweepOnFull > 0) {
      const now = this.clock();
      if (this.nextSweepOnFull <= now) {
        this.nextSweepOnFull = now + s.sweepOnFull;
        removed = this.removeExpired(now);
      }
    }
    if (s.clearOnFull && removed === 0) this.clear();
  }

  private logFull(): void {
    const now = this.clock();
    if (now - this.fullLoggedAt < FULL_LOG_INTERVAL_S) {
      this.fullUnlogged++;
      return;
    }
    const line = this.settings.purgeLru
      ? `LRU item will be purged from cache "${this.name}"`
      : `*** DANGER cache "${this.name}" is FULL !!! ***`;
    const more = this.fullUnlogged > 0 ? ` (${this.fullUnlogged} more times since the last line)` : '';
    this.log.warn(line + more);
    this.fullLoggedAt = now;
    this.fullUnlogged = 0;
  }

  /** Removes every expired item (full scan); returns how many. */
  private removeExpired(now: number): number {
    let removed = 0;
    for (const [k, item] of this.items) {
      if (this.expired(item, now)) {
        this.remove(k, item);
        removed++;
      }
    }
    return removed;
  }

  /**
   * The periodic sweep (`cache-expire-freq`): removes the items whose expiry has passed,
   * visiting only those (the index holds keys by expiry second). Returns how many went.
   */
  sweep(now = this.clock()): number {
    if (this.expiry === null) return 0;
    let freed = 0;
    for (const k of this.expiry.takeDue(now)) {
      const item = this.items.get(k);
      // the index may hold a key whose item changed expiry or went since (moves are exact,
      // but be safe against a removed-then-re-added key)
      if (item !== undefined && this.expired(item, now)) {
        this.remove(k, item);
        freed++;
      }
    }
    if (freed > 0) this.modified();
    return freed;
  }

  /** Live items, for the store file: key, value, absolute expiry. */
  *entries(): Generator<{ key: string; value: Buffer; expires: number }> {
    const now = this.clock();
    for (const [key, item] of this.items) {
      if (!this.expired(item, now)) yield { key, value: item.value, expires: item.expires };
    }
  }

  /** uWSGI's `caches[]` entry (spec §6). */
  statsFields(): CacheStatsFields {
    const s = this.settings;
    return {
      name: s.name,
      hash: s.hash,
      hashsize: s.hashsize,
      keysize: s.keysize,
      max_items: s.maxItems,
      blocks: s.blocks,
      blocksize: s.blocksize,
      items: this.items.size,
      hits: this.hits,
      miss: this.miss,
      full: this.full,
      last_modified_at: this.lastModifiedAt,
    };
  }
}
