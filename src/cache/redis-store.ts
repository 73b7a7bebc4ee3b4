/**
 * A cache whose items live in Redis (uwrouter extension, `redis=redis://HOST:PORT/DB`): one
 * Redis key per item under `uwrouter:cache:NAME:`, its TTL the item's expiry, so every
 * router using the same Redis shares the items. node-redis (the `redis` package) is loaded
 * by dynamic import only when a cache names Redis.
 *
 * Bounded latency: each operation is one command, given up after the cache's timeout
 * (redis_timeout, 100 ms; node-redis's own command timeout stops counting once a command is
 * written, so a Redis that hangs would hold it forever). While the connection is down,
 * commands are not queued (disableOfflineQueue) but answered at once as a miss / a write not
 * done, and the client reconnects in the background. A Redis that is connected but does not
 * answer (HANG_AFTER timeouts in a row) is treated the same way: operations answer at once,
 * and one PING a second finds out when it answers again. An outage is one log line when it
 * starts and one when Redis is back.
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
  ping(): Promise<unknown>;
}

/** slowest reconnect interval while Redis is down */
const MAX_RECONNECT_DELAY_MS = 2000;
/** timeouts in a row after which Redis counts as hanging */
const HANG_AFTER = 3;
/** while hanging, one PING per this long */
const PROBE_INTERVAL_MS = 1000;
/** commands waiting in the client at most (a hung Redis must not grow a queue) */
const MAX_QUEUED_COMMANDS = 1024;

const TIMED_OUT = Symbol('timed out');

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
  /** connected but not answering: operations answer at once until a probe succeeds */
  private hung = false;
  private timeoutsInARow = 0;
  private nextProbe = 0;
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
      commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
      commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
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
    if (this.state === 'down') {
      this.log.info(`cache "${this.name}": Redis ${redisUrlForDisplay(this.url)} is back`);
    }
    this.state = 'up';
    this.hung = false;
    this.timeoutsInARow = 0;
  }

  /** Is the connection up (and answering) now? */
  get connected(): boolean {
    return this.client?.isReady === true && !this.hung;
  }

  private key(k: Buffer): Buffer {
    return Buffer.concat([this.prefix, k]);
  }

  /** The command's answer, or TIMED_OUT after the cache's timeout (the late answer is dropped). */
  private async bounded<T>(command: Promise<T>): Promise<T | typeof TIMED_OUT> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs, TIMED_OUT);
    });
    try {
      const r = await Promise.race([command, late]);
      if (r === TIMED_OUT) this.timedOut();
      else this.timeoutsInARow = 0;
      return r;
    } finally {
      clearTimeout(timer);
    }
  }

  private timedOut(): void {
    this.counters.timeouts++;
    this.counters.errors++;
    if (++this.timeoutsInARow >= HANG_AFTER && !this.hung) {
      this.hung = true;
      this.down(new Error(`no answer within ${this.timeoutMs} ms, ${HANG_AFTER} times in a row`));
    }
  }

  /** Not connected, or not answering: answer at once, without a round trip. */
  private unavailable(): boolean {
    const c = this.client;
    if (c?.isReady === true && !this.hung) return false;
    if (c?.isReady === true && this.hung) this.probe(c);
    this.counters.unavailable++;
    this.counters.errors++;
    return true;
  }

  /** While hanging: one PING a second; an answer in time ends the outage. */
  private probe(c: RedisLike): void {
    const now = Date.now();
    if (now < this.nextProbe) return;
    this.nextProbe = now + PROBE_INTERVAL_MS;
    this.bounded(c.ping()).then(
      (r) => {
        if (r !== TIMED_OUT) this.up();
      },
      () => {},
    );
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    if (this.unavailable()) {
      this.counters.miss++;
      return undefined;
    }
    try {
      const v = await this.bounded(this.client!.get(this.key(key)));
      if (Buffer.isBuffer(v) && v.length > 0 && v.length <= this.maxValueSize) {
        this.counters.hits++;
        return v;
      }
      // a value this cache could not have stored (another writer) is not trusted
      if (v !== null && v !== TIMED_OUT) this.counters.errors++;
    } catch {
      this.counters.errors++;
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
      const r = await this.bounded(this.client!.set(this.key(key), value, options));
      return r !== null && r !== TIMED_OUT;
    } catch {
      this.counters.errors++;
      return false;
    }
  }

  async delete(key: Buffer): Promise<boolean> {
    if (this.unavailable()) return false;
    try {
      const r = await this.bounded(this.client!.del(this.key(key)));
      return r !== TIMED_OUT && Number(r) > 0;
    } catch {
      this.counters.errors++;
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
