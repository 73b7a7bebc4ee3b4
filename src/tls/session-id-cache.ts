/**
 * TLS 1.2 session ids kept in a uWSGI cache (`--ssl-sessions-use-cache[=NAME]`), so any
 * node or process using the same cache (local + UDP sync, or Redis) resumes them.
 * spec: ssl-sni-sessions.md §5 — uWSGI's format: key = the raw session id bytes, value = the
 * session's DER (`i2d_SSL_SESSION`, what Node's newSession gives), sessions over 4096 bytes
 * (or over the cache's blocksize) not stored, expiry = `--ssl-sessions-timeout`, a plain
 * "set" that leaves an existing id alone.
 *
 * Only TLS 1.2 goes through here: the front wires these hooks only to handshakes whose
 * ClientHello does not offer TLS 1.3 (with TLS 1.3, Node's resumeSession fires on every
 * handshake with the random compatibility session id and can never hit: nodejs/node#60847).
 * A lookup is one store round trip (the Redis store answers within its timeout, a miss when
 * Redis is away); a new session is stored without holding the handshake. Deletes are not
 * sent (Node does not report removed sessions): entries leave by their expiry.
 */
import type { CacheStore } from '../cache/store.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** uWSGI skips sessions larger than this (spec §5), and refuses caches with smaller blocks */
export const MAX_CACHED_SESSION_BYTES = 4096;

export interface TlsSessionIdCacheCounters {
  /** resumeSession asked the cache */
  lookups: number;
  /** … and got a session back */
  hits: number;
  /** new sessions handed to the cache */
  stored: number;
  /** new sessions the cache did not keep (the id exists, the cache is full or unreachable) */
  notStored: number;
  /** new sessions over 4096 bytes (or the blocksize), not stored */
  tooLarge: number;
}

export type SessionLookupDone = (err: null, session: Buffer | null) => void;

export class TlsSessionIdCache {
  readonly store: CacheStore;
  /** `--ssl-sessions-timeout`: seconds a stored session lives */
  readonly ttlSeconds: number;
  readonly counters: TlsSessionIdCacheCounters = {
    lookups: 0,
    hits: 0,
    stored: 0,
    notStored: 0,
    tooLarge: 0,
  };
  private readonly maxBytes: number;

  constructor(store: CacheStore, ttlSeconds: number) {
    this.store = store;
    this.ttlSeconds = ttlSeconds;
    this.maxBytes = Math.min(MAX_CACHED_SESSION_BYTES, store.maxValueSize);
  }

  /** resumeSession: one get; `done(null, null)` is a miss (a full handshake follows). */
  lookup(sessionId: Buffer, done: SessionLookupDone): void {
    this.counters.lookups++;
    this.store.get(sessionId).then(
      (v) => {
        if (v !== undefined) this.counters.hits++;
        done(null, v ?? null);
      },
      // the store API never rejects; if one did, it is a miss all the same
      () => done(null, null),
    );
  }

  /** newSession: stored in the background (the handshake does not wait for the cache). */
  save(sessionId: Buffer, session: Buffer): void {
    // a timeout of 0 makes sessions expire at once in OpenSSL, but means "never" to a cache
    if (this.ttlSeconds <= 0 || sessionId.length === 0) return;
    if (session.length > this.maxBytes) {
      this.counters.tooLarge++;
      return;
    }
    // both buffers are Node's own copies (TLSWrap::NewSessionCallback): the store may keep them
    this.store.set(sessionId, session, this.ttlSeconds).then(
      (ok) => {
        if (ok) this.counters.stored++;
        else this.counters.notStored++;
      },
      () => this.counters.notStored++,
    );
  }
}

/** What `--ssl-sessions-use-cache` needs from the caches (CacheSystem has it). */
export interface SessionCacheSource {
  /** the cache `--ssl-sessions-use-cache[=NAME]` names (empty or `true` = the first) */
  findForSessions(value: string):
    | {
        readonly spec: { readonly settings: { readonly name: string; readonly maxItems: number } };
        readonly store: CacheStore;
        readonly local?: unknown;
      }
    | undefined;
  readonly size: number;
}

/**
 * The session cache `--ssl-sessions-use-cache[=NAME]` asks for, checked now: no such cache, a
 * cache without room or with blocks under 4096 bytes is a start-up error naming it (uWSGI
 * exits too). Null when the option is not given.
 */
export function tlsSessionCacheFromConfig(
  value: string | undefined,
  ttlSeconds: number,
  caches: SessionCacheSource,
  log?: Logger,
): TlsSessionIdCache | null {
  if (value === undefined) return null;
  const what = `option "--ssl-sessions-use-cache${value === '' ? '' : `=${value}`}"`;
  if (caches.size === 0) {
    throw new ConfigError(
      `${what}: no cache is configured; add one, e.g. --cache2 name=ssl,items=10000,blocksize=${MAX_CACHED_SESSION_BYTES}`,
    );
  }
  const entry = caches.findForSessions(value);
  if (entry === undefined) throw new ConfigError(`${what}: there is no cache named "${value}"`);
  const name = entry.spec.settings.name;
  if (entry.store.maxValueSize < MAX_CACHED_SESSION_BYTES) {
    throw new ConfigError(
      `${what}: cache "${name}" holds values of at most ${entry.store.maxValueSize} bytes; TLS sessions need blocksize=${MAX_CACHED_SESSION_BYTES} or more (as in uWSGI)`,
    );
  }
  // a local cache holds items − 1 (spec §6): items=1 holds nothing
  if (entry.local !== undefined && entry.spec.settings.maxItems < 2) {
    throw new ConfigError(
      `${what}: cache "${name}" has no room for items (items=${entry.spec.settings.maxItems})`,
    );
  }
  log?.info(`[uwrouter] TLS 1.2 session ids are kept in cache "${name}" for ${ttlSeconds} s`);
  return new TlsSessionIdCache(entry.store, ttlSeconds);
}
