/**
 * The uWSGI cache options: `--cache2` (keyval) and the old-style `--cache N` family, plus
 * uwrouter's own keys for sealed sync and Redis.
 * spec: ssl-sni-sessions.md §6 (cache), §7 (UDP sync)
 */

import type { OptionSpec } from './config.ts';

const OLD_STYLE = '(the old-style cache "default" of --cache N)';

export const CACHE_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'cache2',
    kind: 'string',
    repeatable: true,
    valueName: 'name=..,items=..',
    group: 'cache',
    help:
      'create a cache: name, items (holds items-1 keys), blocksize (65536), blocks, bitmap, keysize (2048), ' +
      'purge_lru, lazy_expire, no_expire, ignore_full, sweep_on_full, clear_on_full, lastmod, ' +
      'store=FILE, store_sync, store_delete, udp=ADDR;ADDR (receive sync), nodes=ADDR;ADDR (send sync), ' +
      'hash and hashsize (stats only); uwrouter: secret=FILE (sealed sync), secret_aead, ' +
      'redis=redis://HOST:PORT/DB, redis_timeout=MS (100)',
  },
  {
    name: 'cache',
    kind: 'int',
    min: 0,
    valueName: 'N',
    group: 'cache',
    help: 'create the cache "default" with N items (holds N-1 keys); configured by the cache-* options below',
  },
  {
    name: 'cache-blocksize',
    kind: 'int',
    default: '65536',
    min: 1,
    valueName: 'BYTES',
    group: 'cache',
    help: `largest value of an item ${OLD_STYLE}`,
  },
  {
    name: 'cache-store',
    kind: 'string',
    valueName: 'FILE',
    group: 'cache',
    help: `keep the items in FILE across restarts ${OLD_STYLE}; uwrouter's own file format, written every --cache-store-sync seconds and at stop`,
  },
  {
    name: 'cache-store-sync',
    kind: 'int',
    min: 0,
    valueName: 'SECONDS',
    group: 'cache',
    help: 'seconds between writes of a changed cache store file, for every cache without store_sync= (default 60; 0 = only at stop)',
  },
  {
    name: 'cache-no-expire',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'cache',
    help: 'never expire items of any cache (as uWSGI, whose sweeper this turns off, leaving expired items readable)',
  },
  {
    name: 'cache-expire-freq',
    kind: 'int',
    default: '3',
    min: 1,
    max: 3600,
    valueName: 'SECONDS',
    group: 'cache',
    help: 'seconds between sweeps removing expired items (expired items are never returned in between)',
  },
  {
    name: 'cache-report-freed-items',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'cache',
    help: 'log how many expired items each sweep removed',
  },
  {
    name: 'cache-udp-server',
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    group: 'cache',
    help: `receive cache sync packets (set/update/delete) on this UDP ip:port ${OLD_STYLE}`,
  },
  {
    name: 'cache-udp-node',
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    group: 'cache',
    help: `send every cache write to this UDP host:port ${OLD_STYLE}`,
  },
  {
    name: 'cache-use-last-modified',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'cache',
    help: `keep last_modified_at up to date in the stats ${OLD_STYLE}`,
  },
  {
    name: 'cache-secret',
    kind: 'string',
    valueName: 'FILE',
    group: 'cache',
    help: `seal sync packets with a key derived from FILE and accept only sealed ones ${OLD_STYLE}; uwrouter extension (cache2: secret=)`,
  },
  {
    name: 'cache-redis',
    kind: 'string',
    valueName: 'URL',
    group: 'cache',
    help: `keep the items in Redis (redis://HOST:PORT/DB) ${OLD_STYLE}; uwrouter extension (cache2: redis=)`,
  },
  {
    name: 'cache-sync',
    kind: 'string',
    valueName: 'ADDR',
    group: 'cache',
    help: 'copy the whole cache of another uWSGI instance at start-up',
    status: {
      refuse:
        "it transfers uWSGI's shared-memory image, which uwrouter's cache does not have; nodes fill each other through UDP updates (--cache-udp-node/--cache-udp-server)",
    },
  },
  {
    name: 'add-cache-item',
    kind: 'string',
    repeatable: true,
    valueName: '[CACHE ]KEY=VALUE',
    group: 'cache',
    help: 'store KEY=VALUE in CACHE (no CACHE: in every cache) at start-up, never expiring; not sent to cache nodes',
  },
  {
    name: 'load-file-in-cache',
    kind: 'string',
    repeatable: true,
    valueName: '[CACHE ]FILE',
    group: 'cache',
    help: 'store the content of FILE under the key FILE in CACHE (no CACHE: in every cache) at start-up',
  },
];
