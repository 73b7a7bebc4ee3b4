/**
 * What a cluster primary runs once for the whole instance, before it drops privileges and
 * forks any worker, and keeps until it stops: the caches (tables, UDP sync sockets, store
 * files, Redis clients, the sweeper) with one replication feed per local cache, and the
 * instance `--stats` server. A worker gets a replica of each cache its router reads
 * (`X-use-cache`); the tables themselves are only here, so a cache write arriving over UDP
 * (or made through a worker) is stored once and reaches every worker within ~10 ms.
 *
 * A router that terminates TLS also gets a replica of the `--ssl-sessions-use-cache` cache
 * (session-cache.ts: TLS 1.2 sessions made in one worker resume in the others).
 *
 * Redis-backed caches: the primary has a Redis client (stats, its own sweeps need none); a
 * worker that keeps TLS sessions in one opens its own (session-cache.ts); `X-use-cache`
 * refuses them.
 *
 * These options apply at start only: a reload that changes one is refused, naming it (the
 * caches keep their items, and after the privilege drop the files and ports they need may
 * be out of reach).
 */
import { CacheSystem } from '../cache/index.ts';
import { CacheTableSource } from '../cache/replication.ts';
import { routeCacheName } from '../cache/system.ts';
import type { Config, RouterName } from '../config/config.ts';
import { OPTIONS } from '../config/registry.ts';
import type { Listener } from '../corerouter/listener.ts';
import { startInstanceStats } from '../instance-stats.ts';
import type { Logger } from '../logger.ts';
import { TableFeed } from './replication.ts';
import { sessionCacheOption, sessionCacheSpec } from './session-cache.ts';

/** Options a reload cannot change (besides the cache options). */
const PROCESS_ONLY = [
  'stats',
  'uid',
  'gid',
  'pidfile',
  'pidfile2',
  'daemonize',
  'daemonize2',
  'logto',
  'logto2',
  'fastrouter-uid',
  'fastrouter-gid',
  'rawrouter-uid',
  'rawrouter-gid',
  'sslrouter-uid',
  'sslrouter-gid',
  'http-uid',
  'http-gid',
];

const START_ONLY: readonly string[] = [
  ...OPTIONS.filter((o) => o.group === 'cache').map((o) => o.name),
  ...PROCESS_ONLY.filter((n) => OPTIONS.some((o) => o.name === n)),
];

/** The start-only options whose values differ between two configurations. */
export function changedStartOnlyOptions(running: Config, next: Config): string[] {
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  return START_ONLY.filter((name) => !same(running.peek(name), next.peek(name))).map((n) => `--${n}`);
}

export class InstanceServices {
  readonly caches: CacheSystem;
  private readonly feeds = new Map<string, TableFeed>();
  private stats: Listener | undefined;

  private constructor(caches: CacheSystem) {
    this.caches = caches;
    for (const e of caches.entries) {
      if (!e.local) continue;
      const source = new CacheTableSource(e.local);
      const feed = new TableFeed(source);
      source.publish = (id, delta) => feed.publish(id, delta);
      this.feeds.set(e.spec.settings.name, feed);
    }
  }

  /** Caches opened and the instance stats bound; on a failure what was opened is closed. */
  static async start(config: Config, log: Logger, version: string): Promise<InstanceServices> {
    const s = new InstanceServices(CacheSystem.fromConfig(config, log));
    try {
      await s.caches.start();
      if (config.has('ssl-sessions-use-cache')) {
        const warning = s.caches.plaintextSessionSyncWarning(config.str('ssl-sessions-use-cache') ?? '');
        if (warning !== undefined) log.warn(warning);
      }
      s.stats = await startInstanceStats(config, log, `${version}-uwrouter`, s.caches);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /** The instance stats socket's bound name (no subscription may name it). */
  get statsName(): string | undefined {
    return this.stats?.name;
  }

  /**
   * The feeds of the caches `router` reads: `X-use-cache`, and the `--ssl-sessions-use-cache`
   * one when it terminates TLS (`tls`); none when it reads none.
   */
  feedsFor(config: Config, router: RouterName, tls: boolean): TableFeed[] {
    const specs = this.caches.entries.map((e) => e.spec);
    const names = new Set<string>();
    const option = `${router}-use-cache`;
    if (config.has(option)) {
      const r = routeCacheName(specs, config.str(option) ?? '');
      if (typeof r !== 'string') names.add(r.cache);
    }
    const sessions = sessionCacheOption(config);
    if (tls && sessions !== undefined) {
      const spec = sessionCacheSpec(specs, sessions);
      if (spec !== undefined) names.add(spec.settings.name);
    }
    const feeds: TableFeed[] = [];
    // Redis-backed caches have no feed (no table here)
    for (const name of names) {
      const feed = this.feeds.get(name);
      if (feed) feeds.push(feed);
    }
    return feeds;
  }

  /** Writes and lookup counters a worker sent about `table` (`cache:NAME`). */
  applyReports(table: string, items: unknown[]): void {
    for (const f of this.feeds.values()) if (f.name === table) f.table.applyReports(items);
  }

  /** Pending cache changes to the workers now (before a stats document is written). */
  flush(): void {
    for (const f of this.feeds.values()) f.flush();
  }

  async close(): Promise<void> {
    await this.stats?.close();
    this.stats = undefined;
    await this.caches.close();
  }
}
