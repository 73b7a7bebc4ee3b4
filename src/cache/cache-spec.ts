/**
 * `--cache2 name=..,items=..,…` (and the old-style `--cache N` options) into a CacheSpec,
 * with an error naming the key and the value. Pure: no I/O.
 * spec: ssl-sni-sessions.md §6 (keys and defaults), §7 (udp, nodes)
 */
import { parseBooleanWord } from '../config/option-value.ts';
import { SEALED_AEADS, type SealedAead } from '../protocol/cache-sync-sealed.ts';
import type { CacheSettings } from './cache.ts';

export interface CacheSpec {
  settings: CacheSettings;
  /** persistent file (uwrouter's own format, not uWSGI's memory image) */
  store: string | undefined;
  /** seconds between writes of a changed store (0 = only when uwrouter stops; -1 = not given) */
  storeSync: number;
  /** replace a store file that is not a uwrouter cache store instead of refusing to start */
  storeDelete: boolean;
  /** UDP addresses receiving sync packets */
  udpServers: string[];
  /** UDP addresses every local write is sent to */
  nodes: string[];
  /** uwrouter: seal sync packets with a key derived from this file; accept only sealed ones */
  secret: string | undefined;
  secretAead: SealedAead;
  /** uwrouter: keep the items in Redis (redis://host:port/db) */
  redis: string | undefined;
  /** uwrouter: give up a Redis command after this long (the caller goes on without) */
  redisTimeoutMs: number;
}

export type CacheSpecResult =
  | { ok: true; spec: CacheSpec; warnings: string[] }
  | { ok: false; error: string };

/** uWSGI's defaults (spec §6) */
export const DEFAULT_BLOCKSIZE = 65536;
export const DEFAULT_KEYSIZE = 2048;
export const DEFAULT_HASHSIZE = 65536;
/** a Redis round trip on a LAN is well under a millisecond; a handshake must not wait longer than this */
export const DEFAULT_REDIS_TIMEOUT_MS = 100;
/** store_sync when none is given: a changed cache reaches its file within a minute */
export const DEFAULT_STORE_SYNC_S = 60;

const HASHES = ['djb33x', 'murmur2'];

/** every key `--cache2` takes, alias → canonical */
const KEYS: Record<string, string> = {
  name: 'name',
  max_items: 'items',
  maxitems: 'items',
  items: 'items',
  blocksize: 'blocksize',
  blocks: 'blocks',
  hash: 'hash',
  hashsize: 'hashsize',
  hash_size: 'hashsize',
  keysize: 'keysize',
  key_size: 'keysize',
  store: 'store',
  store_sync: 'store_sync',
  storesync: 'store_sync',
  store_delete: 'store_delete',
  storedelete: 'store_delete',
  node: 'nodes',
  nodes: 'nodes',
  sync: 'sync',
  udp: 'udp',
  udp_servers: 'udp',
  udp_server: 'udp',
  udpservers: 'udp',
  udpserver: 'udp',
  bitmap: 'bitmap',
  lastmod: 'lastmod',
  math_initial: 'math_initial',
  ignore_full: 'ignore_full',
  purge_lru: 'purge_lru',
  lru: 'purge_lru',
  lazy_expire: 'lazy_expire',
  lazy: 'lazy_expire',
  sweep_on_full: 'sweep_on_full',
  clear_on_full: 'clear_on_full',
  no_expire: 'no_expire',
  // uwrouter's own
  secret: 'secret',
  secret_aead: 'secret_aead',
  redis: 'redis',
  redis_timeout: 'redis_timeout',
};

/** Why `sync`/`cache-sync` is refused (spec §7: it copies uWSGI's memory image). */
export const CACHE_SYNC_REFUSED =
  "a full copy at start-up (cache-sync) transfers uWSGI's shared-memory image, which uwrouter's cache does not have; nodes fill each other through UDP updates (nodes=/udp=)";

/** The settings every cache starts from (uWSGI's defaults). */
export function defaultSettings(name: string, maxItems: number): CacheSettings {
  return {
    name,
    maxItems,
    blocksize: DEFAULT_BLOCKSIZE,
    blocks: maxItems,
    bitmap: false,
    keysize: DEFAULT_KEYSIZE,
    hash: 'djb33x',
    hashsize: DEFAULT_HASHSIZE,
    purgeLru: false,
    lazyExpire: false,
    noExpire: false,
    ignoreFull: false,
    sweepOnFull: 0,
    clearOnFull: false,
    lastModified: false,
  };
}

export function emptySpec(settings: CacheSettings): CacheSpec {
  return {
    settings,
    store: undefined,
    storeSync: -1,
    storeDelete: false,
    udpServers: [],
    nodes: [],
    secret: undefined,
    secretAead: 'aes-256-gcm',
    redis: undefined,
    redisTimeoutMs: DEFAULT_REDIS_TIMEOUT_MS,
  };
}

/** uWSGI splits node and udp lists on `;` */
export function splitAddresses(value: string): string[] {
  return value
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function positive(text: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return n >= min && n <= max ? n : undefined;
}

/**
 * Checks that hold for every cache, however it was configured (`--cache2` or old-style).
 * Returns an error text or undefined.
 */
export function checkSpec(spec: CacheSpec): string | undefined {
  const s = spec.settings;
  if (s.blocks < s.maxItems) {
    return `invalid number of cache blocks for "${s.name}", must be at least items (${s.maxItems})`;
  }
  if (spec.redis !== undefined && (spec.nodes.length > 0 || spec.udpServers.length > 0)) {
    return `cache "${s.name}" keeps its items in Redis, which every router using it already shares: UDP sync (nodes=, udp=) is not supported with redis=`;
  }
  if (spec.redis !== undefined && spec.store !== undefined) {
    return `cache "${s.name}" keeps its items in Redis: store= is not supported with redis=`;
  }
  if (spec.secret !== undefined && spec.nodes.length === 0 && spec.udpServers.length === 0) {
    return `cache "${s.name}": secret= seals UDP sync packets, but the cache has no nodes= or udp=`;
  }
  if (spec.redis !== undefined && !/^rediss?:\/\//.test(spec.redis)) {
    return `cache "${s.name}": redis= must be a redis://host:port/db or rediss:// URL, not "${spec.redis}"`;
  }
  return undefined;
}

/** Parses one `--cache2` value. */
export function parseCache2(text: string): CacheSpecResult {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const rawKey = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const key = KEYS[rawKey];
    if (key === undefined) {
      return { ok: false, error: `unknown key "${rawKey}" (keys: ${Object.keys(KEYS).join(', ')})` };
    }
    fields.set(key, value);
  }
  const name = fields.get('name');
  if (!name) return { ok: false, error: 'you have to specify a cache name (name=NAME)' };
  const itemsText = fields.get('items');
  if (itemsText === undefined) {
    return {
      ok: false,
      error: `cache "${name}": you have to specify the maximum number of cache items (items=N)`,
    };
  }
  const bad = (key: string, why: string): CacheSpecResult => ({
    ok: false,
    error: `cache "${name}": ${key}="${fields.get(key)}" ${why}`,
  });
  const items = positive(itemsText, 1);
  if (items === undefined) return bad('items', 'must be a number ≥ 1');
  const spec = emptySpec(defaultSettings(name, items));
  const s = spec.settings;
  const warnings: string[] = [];
  const num = (key: string, min: number, max?: number): number | undefined | false => {
    const v = fields.get(key);
    if (v === undefined) return undefined;
    const n = positive(v, min, max);
    return n === undefined ? false : n;
  };
  const flag = (key: string): boolean | undefined | null => {
    const v = fields.get(key);
    if (v === undefined) return undefined;
    // a key given without a value (`bitmap`) is on, as in uWSGI
    if (v === '') return true;
    const b = parseBooleanWord(v);
    return b === undefined ? null : b;
  };
  const numbers: Array<[string, number, number | undefined, (n: number) => void]> = [
    ['blocksize', 1, undefined, (n) => (s.blocksize = n)],
    ['blocks', 1, undefined, (n) => (s.blocks = n)],
    ['hashsize', 1, undefined, (n) => (s.hashsize = n)],
    ['keysize', 1, 65535, (n) => (s.keysize = n)],
    ['store_sync', 0, undefined, (n) => (spec.storeSync = n)],
    ['sweep_on_full', 0, undefined, (n) => (s.sweepOnFull = n)],
    ['redis_timeout', 1, 60_000, (n) => (spec.redisTimeoutMs = n)],
  ];
  for (const [key, min, max, assign] of numbers) {
    const n = num(key, min, max);
    if (n === false) return bad(key, `must be a number ${max !== undefined ? `${min}..${max}` : `≥ ${min}`}`);
    if (n !== undefined) assign(n);
  }
  const flags: Array<[string, (b: boolean) => void]> = [
    ['bitmap', (b) => (s.bitmap = b)],
    ['lastmod', (b) => (s.lastModified = b)],
    ['ignore_full', (b) => (s.ignoreFull = b)],
    ['purge_lru', (b) => (s.purgeLru = b)],
    ['lazy_expire', (b) => (s.lazyExpire = b)],
    ['clear_on_full', (b) => (s.clearOnFull = b)],
    ['no_expire', (b) => (s.noExpire = b)],
    ['store_delete', (b) => (spec.storeDelete = b)],
  ];
  for (const [key, assign] of flags) {
    const b = flag(key);
    if (b === null) return bad(key, 'is not a boolean (true, false, 1, 0, yes, no, on, off)');
    if (b !== undefined) assign(b);
  }
  const hash = fields.get('hash');
  if (hash !== undefined) {
    if (!HASHES.includes(hash)) return bad('hash', `is not one of ${HASHES.join(', ')}`);
    s.hash = hash;
  }
  if (fields.has('sync'))
    return { ok: false, error: `cache "${name}": sync= is not supported: ${CACHE_SYNC_REFUSED}` };
  if (fields.has('math_initial')) {
    warnings.push(
      `cache "${name}": math_initial= has no effect: uwrouter runs no application code, so nothing calls the cache math functions`,
    );
  }
  const store = fields.get('store');
  if (store !== undefined) {
    if (store === '') return bad('store', 'needs a file name');
    spec.store = store;
  }
  spec.nodes = splitAddresses(fields.get('nodes') ?? '');
  spec.udpServers = splitAddresses(fields.get('udp') ?? '');
  const secret = fields.get('secret');
  if (secret !== undefined) {
    if (secret === '') return bad('secret', 'needs a file name');
    spec.secret = secret;
  }
  const aead = fields.get('secret_aead');
  if (aead !== undefined) {
    if (!(SEALED_AEADS as readonly string[]).includes(aead)) {
      return bad('secret_aead', `is not one of ${SEALED_AEADS.join(', ')}`);
    }
    spec.secretAead = aead as SealedAead;
  }
  const redis = fields.get('redis');
  if (redis !== undefined) spec.redis = redis;
  const problem = checkSpec(spec);
  if (problem !== undefined) return { ok: false, error: problem };
  return { ok: true, spec, warnings };
}
