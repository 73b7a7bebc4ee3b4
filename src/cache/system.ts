/**
 * Every cache of the instance, created before the routers (as uWSGI creates its caches
 * before its gateways): the tables, their UDP sync, store files and Redis stores, one sweep
 * timer for all, the stats, and the two ways in: a synchronous route lookup for the
 * `X-use-cache` mappers and the asynchronous store API (store.ts) for TLS sessions.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type CacheStatsFields, UwsgiCache } from './cache.ts';
import type { CacheSpec } from './cache-spec.ts';
import { type CacheConfig, cacheConfigFromConfig } from './from-config.ts';
import { RedisCacheStore } from './redis-store.ts';
import { loadSyncSecret, SealedChannel } from './sealed-channel.ts';
import { type CacheStore, LocalCacheStore } from './store.ts';
import { CacheStoreFile } from './store-file.ts';
import { CacheUdpSync } from './udp-sync.ts';

/** What the cache mapper needs: the item of a key and its hit count before this lookup. */
export interface RouteCache {
  lookupRoute(key: string): { value: Buffer; hits: number } | undefined;
  has(key: Buffer | string): boolean;
}

/**
 * Which cache `X-use-cache NAME` reads ('' = the first), or why it cannot: one answer for the
 * instance's caches and for a cluster worker's replicas of them.
 */
export function routeCacheName(specs: readonly CacheSpec[], name: string): { cache: string } | string {
  const spec = name === '' ? specs[0] : specs.find((s) => s.settings.name === name);
  if (spec === undefined) {
    return specs.length === 0
      ? 'no cache is configured (--cache N or --cache2 name=..,items=..)'
      : `there is no cache named "${name}" (caches: ${specs.map((x) => x.settings.name).join(', ')})`;
  }
  if (spec.redis !== undefined) {
    return `cache "${spec.settings.name}" keeps its items in Redis; the cache mapper reads a local cache (share routes with nodes=/udp= instead)`;
  }
  return { cache: spec.settings.name };
}

export interface CacheEntry {
  readonly spec: CacheSpec;
  /** the table (every cache but Redis-backed ones) */
  readonly local: UwsgiCache | undefined;
  readonly redis: RedisCacheStore | undefined;
  readonly sync: CacheUdpSync | undefined;
  readonly file: CacheStoreFile | undefined;
  readonly store: CacheStore;
}

export class CacheSystem {
  readonly entries: readonly CacheEntry[];
  private readonly conf: CacheConfig;
  private readonly log: Logger;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly storeTimers: NodeJS.Timeout[] = [];

  private constructor(entries: CacheEntry[], conf: CacheConfig, log: Logger) {
    this.entries = entries;
    this.conf = conf;
    this.log = log;
  }

  /** Reads and checks the cache options (ConfigError names the problem); opens nothing. */
  static fromConfig(config: Config, log: Logger): CacheSystem {
    const conf = cacheConfigFromConfig(config);
    const entries: CacheEntry[] = conf.specs.map((spec) => CacheSystem.entry(spec, log));
    return new CacheSystem(entries, conf, log);
  }

  private static entry(spec: CacheSpec, log: Logger): CacheEntry {
    const name = spec.settings.name;
    if (spec.redis !== undefined) {
      const redis = new RedisCacheStore(spec, log);
      return { spec, local: undefined, redis, sync: undefined, file: undefined, store: redis };
    }
    const local = new UwsgiCache(spec.settings, log);
    let sealed: SealedChannel | undefined;
    if (spec.secret !== undefined) {
      const { keys, warning } = loadSyncSecret(spec.secret, name);
      if (warning !== undefined) log.warn(`[uwrouter] ${warning}`);
      sealed = new SealedChannel(keys, spec.secretAead);
    }
    const old = name === 'default';
    const sync =
      spec.udpServers.length > 0 || spec.nodes.length > 0
        ? new CacheUdpSync({
            cache: local,
            servers: spec.udpServers,
            nodes: spec.nodes,
            sealed,
            log,
            serverOption: old ? '--cache-udp-server' : `--cache2 ${name} udp=`,
            nodeOption: old ? '--cache-udp-node' : `--cache2 ${name} nodes=`,
          })
        : undefined;
    const file = spec.store !== undefined ? new CacheStoreFile(spec.store, local, log) : undefined;
    return { spec, local, redis: undefined, sync, file, store: new LocalCacheStore(local) };
  }

  get size(): number {
    return this.entries.length;
  }

  /** The cache of that name; '' = the first (uWSGI's uwsgi_cache_by_name). */
  find(name: string): CacheEntry | undefined {
    if (name === '') return this.entries[0];
    return this.entries.find((e) => e.spec.settings.name === name);
  }

  /**
   * The cache `--ssl-sessions-use-cache[=NAME]` names: empty or `true` is the first cache
   * (spec: ssl-sni-sessions.md §5).
   */
  findForSessions(value: string): CacheEntry | undefined {
    return this.find(value === 'true' ? '' : value);
  }

  /** The async store of a cache (TLS sessions: see findForSessions); undefined when there is no such cache. */
  store(name: string): CacheStore | undefined {
    return this.find(name)?.store;
  }

  /**
   * The start-up warning for a cache that carries TLS sessions over plaintext UDP sync: a
   * TLS session holds its master secret, so anyone on the path can decrypt the traffic.
   * Undefined when there is nothing to warn about.
   */
  plaintextSessionSyncWarning(sessionCache: string): string | undefined {
    const e = this.findForSessions(sessionCache);
    if (e?.sync === undefined || e.sync.sealed) return undefined;
    const name = e.spec.settings.name;
    const how = name === 'default' ? '--cache-secret FILE' : `secret=FILE on --cache2 name=${name}`;
    return `[uwrouter] WARNING: cache "${name}" holds TLS sessions (--ssl-sessions-use-cache) and syncs them over plaintext UDP: a TLS session holds its master secret, so anyone who can read these packets can decrypt the traffic of the resumed connections, and anyone who can send them can plant sessions; seal the sync with ${how} on every node`;
  }

  /** For `X-use-cache NAME`: the table, or why it cannot be used. */
  routeCache(name: string): RouteCache | string {
    const r = routeCacheName(
      this.entries.map((e) => e.spec),
      name,
    );
    if (typeof r === 'string') return r;
    return this.find(r.cache)?.local ?? `internal: cache "${r.cache}" has no table`;
  }

  /**
   * Opens everything: store files loaded, start-up items stored, Redis clients connecting
   * (not awaited), UDP sync bound, the sweeper and store timers running.
   */
  async start(): Promise<void> {
    for (const w of this.conf.warnings) this.log.warn(w.startsWith('[') ? w : `[uwrouter] ${w}`);
    for (const e of this.entries) {
      const s = e.spec.settings;
      const worst = e.local ? (s.maxItems - 1) * (s.keysize + e.local.maxValueSize) : 0;
      this.log.info(
        e.local
          ? `*** Cache "${s.name}" initialized: ${s.maxItems - 1} items of up to ${e.local.maxValueSize} bytes (at most ${Math.ceil(worst / 1048576)}MB, allocated as items are stored) ***`
          : `*** Cache "${s.name}" initialized: items in Redis ***`,
      );
      e.file?.load(e.spec.storeDelete);
      if (e.local) this.addStartupItems(e.local);
      if (e.redis) await e.redis.open();
      if (e.sync) await e.sync.start();
      if (e.file && e.spec.storeSync > 0) {
        const file = e.file;
        const t = setInterval(() => void file.flush(), e.spec.storeSync * 1000);
        t.unref();
        this.storeTimers.push(t);
      }
    }
    if (this.entries.some((e) => e.local?.sweeps)) {
      this.sweepTimer = setInterval(() => this.sweep(), this.conf.expireFreq * 1000);
      this.sweepTimer.unref();
      this.log.info('cache sweeper thread enabled');
    }
  }

  /** One sweep of every cache that has a sweeper (spec §6). */
  sweep(): void {
    for (const e of this.entries) {
      const freed = e.local?.sweep() ?? 0;
      if (this.conf.reportFreedItems && freed > 0) {
        this.log.info(`freed ${freed} items for cache "${e.spec.settings.name}"`);
      }
    }
  }

  /** `add-cache-item [CACHE ]KEY=VALUE` and `load-file-in-cache [CACHE ]FILE` (uWSGI: every cache when no name). */
  private addStartupItems(cache: UwsgiCache): void {
    const forThis = (text: string): string | undefined => {
      const space = text.indexOf(' ');
      if (space < 0) return text;
      return text.slice(0, space) === cache.name ? text.slice(space + 1) : undefined;
    };
    for (const text of this.conf.addItems) {
      const item = forThis(text);
      if (item === undefined) continue;
      const eq = item.indexOf('=');
      if (eq < 0) throw new ConfigError(`option "--add-cache-item": "${text}" is not [CACHE ]KEY=VALUE`);
      this.storeAtStart(cache, item.slice(0, eq), Buffer.from(item.slice(eq + 1), 'latin1'));
    }
    for (const text of this.conf.loadFiles) {
      const file = forThis(text);
      if (file === undefined) continue;
      let content: Buffer;
      try {
        content = readFileSync(file);
      } catch (e) {
        throw new ConfigError(
          `option "--load-file-in-cache": unable to read file "${file}": ${(e as NodeJS.ErrnoException).code ?? e}`,
        );
      }
      this.storeAtStart(cache, file, content);
    }
  }

  /** Stored locally, not sent to nodes (every node has its own configuration). */
  private storeAtStart(cache: UwsgiCache, key: string, value: Buffer): void {
    const r = cache.applyDelta({ op: 'set', key: Buffer.from(key, 'latin1'), value, expires: 0 });
    if (r === 'ok') this.log.info(`[cache] stored "${key}" in "${cache.name}"`);
    else this.log.warn(`[cache-error] unable to store "${key}" in "${cache.name}": ${r}`);
  }

  /**
   * The `caches` list of the instance stats: uWSGI's fields (spec §6) for local caches,
   * then a `uwrouter` object with the sync, store and Redis counters.
   */
  statsJson(): Array<Record<string, unknown>> {
    return this.entries.map((e) => {
      const s = e.spec.settings;
      const base: CacheStatsFields | Record<string, unknown> = e.local
        ? e.local.statsFields()
        : {
            name: s.name,
            hash: s.hash,
            hashsize: s.hashsize,
            keysize: s.keysize,
            max_items: s.maxItems,
            blocks: s.blocks,
            blocksize: s.blocksize,
            // items live in Redis: not counted here
            hits: e.store.storeStats().hits,
            miss: e.store.storeStats().miss,
            full: 0,
            last_modified_at: 0,
          };
      const extra: Record<string, unknown> = {};
      if (e.sync) extra.sync = { sealed: e.sync.sealed ? 1 : 0, ...e.sync.counters };
      if (e.redis) extra.redis = e.redis.redisStats();
      extra.store_api = e.store.storeStats();
      return { ...base, uwrouter: extra };
    });
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    for (const t of this.storeTimers) clearInterval(t);
    this.storeTimers.length = 0;
    for (const e of this.entries) {
      await e.sync?.close();
      e.redis?.close();
      await e.file?.flush();
    }
  }
}
