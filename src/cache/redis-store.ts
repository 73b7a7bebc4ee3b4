/**
 * A cache whose items live in Redis (uwrouter extension, `redis=redis://HOST:PORT/DB`): one
 * Redis key per item under `uwrouter:cache:NAME:`, its TTL the item's expiry, so every
 * router using the same Redis shares the items. node-redis (the `redis` package) is loaded
 * by dynamic import only when a cache names Redis.
 *
 * Bounded latency: each operation is one command with the cache's timeout (redis_timeout,
 * 100 ms); while the connection is down commands are not queued (disableOfflineQueue) but
 * answered at once as a miss / a write not done, and the client reconnects in the
 * background. An outage is one log line when it starts and one when Redis is back.
 */
import type { Logger } from '../logger.ts';
import type { CacheSpec } from './cache-spec.ts';
import type { CacheStore, CacheStoreStats } from './store.ts';

/** The few client methods used, typed here so node-redis's types stay out of the API. */
interface RedisLike {
  isReady: boolean;
  on(event: 'error', cb: (e: Error) => void): unknown;
  on(event: 'ready' | 'end', cb: () => void): unknown;
  connect(): Promise<unknown>;
  destroy(): void;
  get(key: Buffer): Promise<unknown>;
  set(key: Buffer, value: Buffer, options?: unknown): Promise<unknown>;
  del(key: Buffer): Promise<unknown>;
}

/** slowest reconnect interval while Redis is down */
const MAX_RECONNECT_DELAY_MS = 2000;

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0` for log lines and stats. */
export function redisUrlForDisplay(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;
  readonly name: string;
  readonly maxValueSize: number;
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly prefix: Buffer;
  private readonly log: Logger;
  private client: RedisLike | undefined;
  /** up, down (logged once), or not yet known */
  private state: 'unknown' | 'up' | 'down' = 'unknown';
  private readonly counters: CacheStoreStats & { unavailable: number } = {
    hits: 0,
    miss: 0,
    errors: 0,
    timeouts: 0,
    unavailable: 0,
  };

  constructor(spec: CacheSpec, log: Logger) {
    this.name = spec.settings.name;
    this.maxValueSize = spec.settings.bitmap
      ? spec.settings.blocks * spec.settings.blocksize
      : spec.settings.blocksize;
    this.url = spec.redis ?? '';
    this.timeoutMs = spec.redisTimeoutMs;
    this.prefix = Buffer.from(`uwrouter:cache:${this.name}:`, 'latin1');
    this.log = log;
  }

  /** Loads node-redis and starts connecting; never waits for Redis (an outage is not a start-up error). */
  async open(): Promise<void> {
    const { createClient, RESP_TYPES } = await import('redis');
    const client = createClient({
      url: this.url,
      disableOfflineQueue: true,
      commandOptions: { timeout: this.timeoutMs, typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
      socket: {
        connectTimeout: Math.max(this.timeoutMs, 1000),
        reconnectStrategy: (retries: number) =>
          Math.min(50 * 2 ** Math.min(retries, 10), MAX_RECONNECT_DELAY_MS),
      },
    }) as unknown as RedisLike;
    this.client = client;
    client.on('error', (e: Error) => this.down(e));
    client.on('ready', () => this.up());
    this.log.info(
      `cache "${this.name}": items in Redis at ${redisUrlForDisplay(this.url)} (timeout ${this.timeoutMs} ms)`,
    );
    client.connect().catch((e: Error) => this.down(e));
  }

  private down(e: Error): void {
    if (this.state === 'down') return;
    this.state = 'down';
    const why = (e as NodeJS.ErrnoException).code ?? e.message;
    this.log.warn(
      `cache "${this.name}": Redis ${redisUrlForDisplay(this.url)} unreachable (${why}): lookups miss and writes are dropped until it is back (TLS sessions: full handshakes)`,
    );
  }

  private up(): void {
    if (this.state === 'down')
      this.log.info(`cache "${this.name}": Redis ${redisUrlForDisplay(this.url)} is back`);
    this.state = 'up';
  }

  /** Is the connection up now? */
  get connected(): boolean {
    return this.client?.isReady === true;
  }

  private key(k: Buffer): Buffer {
    return Buffer.concat([this.prefix, k]);
  }

  private failed(e: unknown): void {
    this.counters.errors++;
    if ((e as Error)?.name === 'TimeoutError' || /timeout/i.test((e as Error)?.message ?? '')) {
      this.counters.timeouts++;
    }
  }

  /** Not connected: answer at once, without a round trip. */
  private unavailable(): boolean {
    if (this.client?.isReady === true) return false;
    this.counters.unavailable++;
    this.counters.errors++;
    return true;
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    if (this.unavailable()) {
      this.counters.miss++;
      return undefined;
    }
    try {
      const v = await this.client!.get(this.key(key));
      if (Buffer.isBuffer(v) && v.length > 0 && v.length <= this.maxValueSize) {
        this.counters.hits++;
        return v;
      }
      // a value this cache could not have stored (another writer) is not trusted
      if (v !== null) this.counters.errors++;
    } catch (e) {
      this.failed(e);
    }
    this.counters.miss++;
    return undefined;
  }

  set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<boolean> {
    return this.write(key, value, ttlSeconds, true);
  }

  update(key: Buffer, value: Buffer, ttlSeconds: number): Promise<boolean> {
    return this.write(key, value, ttlSeconds, false);
  }

  private async write(
    key: Buffer,
    value: Buffer,
    ttlSeconds: number,
    onlyIfAbsent: boolean,
  ): Promise<boolean> {
    if (key.length === 0 || value.length === 0 || value.length > this.maxValueSize) {
      this.counters.errors++;
      return false;
    }
    if (this.unavailable()) return false;
    const options: Record<string, unknown> = {};
    if (ttlSeconds > 0) options.expiration = { type: 'EX', value: ttlSeconds };
    if (onlyIfAbsent) options.condition = 'NX';
    try {
      return (await this.client!.set(this.key(key), value, options)) !== null;
    } catch (e) {
      this.failed(e);
      return false;
    }
  }

  async delete(key: Buffer): Promise<boolean> {
    if (this.unavailable()) return false;
    try {
      return Number(await this.client!.del(this.key(key))) > 0;
    } catch (e) {
      this.failed(e);
      return false;
    }
  }

  storeStats(): CacheStoreStats {
    const { hits, miss, errors, timeouts } = this.counters;
    return { hits, miss, errors, timeouts };
  }

  /** The stats object of this cache's Redis side. */
  redisStats(): Record<string, unknown> {
    return { url: redisUrlForDisplay(this.url), connected: this.connected ? 1 : 0, ...this.counters };
  }

  close(): void {
    const c = this.client;
    this.client = undefined;
    // the client's last error/end events are the shutdown, not an outage
    this.state = 'down';
    try {
      c?.destroy();
    } catch {
      // already closed
    }
  }
}
