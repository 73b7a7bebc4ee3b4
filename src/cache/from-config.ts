/**
 * The caches a configuration asks for, in uWSGI's order: the old-style `--cache N` cache
 * "default" first, then every `--cache2` (spec: ssl-sni-sessions.md §6). `--cache2` caches
 * do not take the old-style `--cache-udp-*`, `--cache-store` options (as in uWSGI);
 * `--cache-no-expire` and `--cache-store-sync` apply to every cache.
 */
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import {
  type CacheSpec,
  checkSpec,
  DEFAULT_STORE_SYNC_S,
  defaultSettings,
  emptySpec,
  parseCache2,
} from './cache-spec.ts';

export interface CacheConfig {
  specs: CacheSpec[];
  /** seconds between sweeps */
  expireFreq: number;
  reportFreedItems: boolean;
  /** `add-cache-item` values */
  addItems: readonly string[];
  /** `load-file-in-cache` values */
  loadFiles: readonly string[];
  warnings: string[];
}

/** Options of the old-style cache: meaningless without `--cache N`. */
const OLD_STYLE_ONLY = [
  'cache-blocksize',
  'cache-store',
  'cache-udp-server',
  'cache-udp-node',
  'cache-use-last-modified',
  'cache-secret',
  'cache-redis',
];

export function cacheConfigFromConfig(config: Config): CacheConfig {
  const specs: CacheSpec[] = [];
  const warnings: string[] = [];
  const items = config.int('cache');
  if (items > 0) {
    const spec = emptySpec(defaultSettings('default', items));
    spec.settings.blocksize = config.int('cache-blocksize');
    spec.settings.lastModified = config.flag('cache-use-last-modified');
    spec.store = config.str('cache-store');
    spec.udpServers = [...config.all('cache-udp-server')];
    spec.nodes = [...config.all('cache-udp-node')];
    spec.secret = config.str('cache-secret');
    spec.redis = config.str('cache-redis');
    const problem = checkSpec(spec);
    if (problem !== undefined) throw new ConfigError(`option "--cache": ${problem}`);
    specs.push(spec);
  } else {
    for (const o of OLD_STYLE_ONLY) {
      if (config.has(o)) {
        throw new ConfigError(
          `option "--${o}" configures the old-style cache, which needs --cache N (or use --cache2 name=..,items=.. with its own keys)`,
        );
      }
    }
  }
  for (const text of config.all('cache2')) {
    const r = parseCache2(text);
    if (!r.ok) throw new ConfigError(`option "--cache2": ${r.error}`);
    warnings.push(...r.warnings);
    specs.push(r.spec);
  }
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.settings.name)) {
      throw new ConfigError(`option "--cache2": there is already a cache named "${s.settings.name}"`);
    }
    names.add(s.settings.name);
  }
  const noExpire = config.flag('cache-no-expire');
  // uWSGI takes --cache-store-sync as the default of every cache; a cache2 store_sync= wins
  const storeSync = config.has('cache-store-sync') ? config.int('cache-store-sync') : DEFAULT_STORE_SYNC_S;
  for (const s of specs) {
    if (noExpire) s.settings.noExpire = true;
    if (s.storeSync < 0) s.storeSync = storeSync;
  }
  const addItems = config.all('add-cache-item');
  const loadFiles = config.all('load-file-in-cache');
  if (specs.length === 0) {
    for (const o of [
      'add-cache-item',
      'load-file-in-cache',
      'cache-expire-freq',
      'cache-no-expire',
      'cache-report-freed-items',
      'cache-store-sync',
    ]) {
      if (config.has(o))
        warnings.push(`[uwrouter] --${o}: no effect: no cache is configured (--cache N or --cache2)`);
    }
  }
  return {
    specs,
    expireFreq: config.int('cache-expire-freq'),
    reportFreedItems: config.flag('cache-report-freed-items'),
    addItems,
    loadFiles,
    warnings,
  };
}
