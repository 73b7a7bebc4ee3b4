/**
 * `--ssl-sessions-use-cache` in a cluster: the primary owns the caches, so its configuration
 * check and each worker look the session cache up among the cache specs, not a CacheSystem.
 * A worker's TLS side gets a store over its replica of a local cache (replica-store.ts:
 * sessions made in any worker resume in every other), or its own client of a Redis-backed
 * one (every worker and node talks to the same Redis). The check applies the same start-up
 * rules as startRouters (tlsSessionCacheFromConfig: no cache, no such name, blocks under
 * 4096 bytes, no room are errors).
 */
import type { CacheSpec } from '../cache/cache-spec.ts';
import { CacheReplica } from '../cache/replica.ts';
import { ReplicaCacheStore } from '../cache/replica-store.ts';
import type { CacheStore } from '../cache/store.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import {
  type SessionCacheSource,
  type TlsSessionIdCache,
  tlsSessionCacheFromConfig,
} from '../tls/session-id-cache.ts';

/** The spec `--ssl-sessions-use-cache[=NAME]` names: empty or `true` is the first cache. */
export function sessionCacheSpec(specs: readonly CacheSpec[], value: string): CacheSpec | undefined {
  const name = value === 'true' ? '' : value;
  return name === '' ? specs[0] : specs.find((s) => s.settings.name === name);
}

/** The option's value (undefined when not given). */
export function sessionCacheOption(config: Config): string | undefined {
  return config.has('ssl-sessions-use-cache') ? (config.str('ssl-sessions-use-cache') ?? '') : undefined;
}

/** The session cache over `storeFor`'s stores, checked as startRouters checks it (ConfigError). */
export function clusterSessionCache(
  config: Config,
  specs: readonly CacheSpec[],
  storeFor: (spec: CacheSpec) => CacheStore,
  log?: Logger,
): TlsSessionIdCache | null {
  const source: SessionCacheSource = {
    size: specs.length,
    findForSessions: (value) => {
      const spec = sessionCacheSpec(specs, value);
      if (spec === undefined) return undefined;
      return { spec, store: storeFor(spec), ...(spec.redis === undefined ? { local: spec } : {}) };
    },
  };
  return tlsSessionCacheFromConfig(
    sessionCacheOption(config),
    config.int('ssl-sessions-timeout'),
    source,
    log,
  );
}

/** For the check: a store that only says how large a value the cache holds. */
export function checkOnlyStore(spec: CacheSpec): CacheStore {
  const replica = new CacheReplica({ cache: spec.settings.name, noExpire: false, report: () => {} });
  return new ReplicaCacheStore(replica, spec.settings);
}
