/**
 * The uWSGI cache (DESIGN.md `src/cache/`): tables with uWSGI's semantics, UDP sync between
 * nodes (plain, as uWSGI, or sealed), store files, Redis-backed caches, and the store API
 * the TLS session side uses.
 */
export { type CacheSettings, type CacheWriteResult, UwsgiCache } from './cache.ts';
export { type CacheSpec, parseCache2 } from './cache-spec.ts';
export type { CacheStore, CacheStoreStats } from './store.ts';
export { type CacheEntry, CacheSystem, type RouteCache } from './system.ts';
