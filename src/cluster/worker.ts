/**
 * A worker process: runs one router on the listening sockets the primary bound, with replicas
 * of the primary's tables (src/cluster/messages.ts has the conversation). It answers the
 * primary's stats questions, beats every second (harakiri), reports what only it sees, and
 * drains when told to (reload, stop), when the primary goes away, or on its own stop signal.
 */

import { createServer } from 'node:net';
import type { CacheSpec } from '../cache/cache-spec.ts';
import { cacheConfigFromConfig } from '../cache/from-config.ts';
import { RedisCacheStore } from '../cache/redis-store.ts';
import { CacheReplica } from '../cache/replica.ts';
import { ReplicaCacheStore } from '../cache/replica-store.ts';
import type { CacheStore } from '../cache/store.ts';
import { routeCacheName } from '../cache/system.ts';
import { Config } from '../config/config.ts';
import { OPTION_INDEX } from '../config/registry.ts';
import { adoptListener, type Listener } from '../corerouter/listener.ts';
import type { CoreRouter } from '../corerouter/router.ts';
import type { StatsSection } from '../corerouter/types.ts';
import { UwrError } from '../errors.ts';
import { createLogger, type Logger } from '../logger.ts';
import type { ProcessSignals, StopSignal } from '../signals.ts';
import { routerPlans } from '../start.ts';
import { SubscriptionReplica } from '../subscription/replica.ts';
import { subscriptionSettingsFromConfig } from '../subscription/system.ts';
import { usePemTexts } from '../tls/pem-files.ts';
import { routerTlsRuntime } from '../tls/router-runtime.ts';
import type { SniRegistry } from '../tls/sni-registry.ts';
import { BEAT_MS, type FromWorker, isToWorker, type ToWorker } from './messages.ts';
import { ReplicaSet } from './replication.ts';
import { clusterSessionCache } from './session-cache.ts';
import { WorkerLogs } from './worker-logs.ts';

/** usage counters go to the primary this often (and before every stats answer) */
const USAGE_MS = 1000;

type Init = Extract<ToWorker, { t: 'init' }>;

/** Stats sections the primary fills in (kept here as null so the document keeps its order). */
function primarySection(statsName: string): StatsSection {
  return { statsName, statsJson: () => null };
}

export class Worker {
  private readonly signals: ProcessSignals;
  private init: Init | null = null;
  /** listening socket handles not adopted yet, by index (each adoption takes one) */
  private readonly handles: Array<object | undefined> = [];
  /** waiting for the primary to send the sockets again (re-opened after cheap mode) */
  private socketWaiters: Array<() => void> = [];
  private log: Logger = createLogger();
  private router: CoreRouter | null = null;
  private subscription: SubscriptionReplica | null = null;
  private logs: WorkerLogs | null = null;
  /** the caches this router reads (`X-use-cache`, `--ssl-sessions-use-cache`), by cache name */
  private readonly caches = new Map<string, CacheReplica>();
  private cacheSpecs: readonly CacheSpec[] = [];
  /** the router's TLS contexts (sslrouter, HTTPS listeners): subscription certificates go there */
  private sni: SniRegistry | null = null;
  /** this worker's client of a Redis-backed `--ssl-sessions-use-cache` cache */
  private redis: RedisCacheStore | null = null;
  private readonly replicas = new ReplicaSet((table, items) => this.send({ t: 'report', table, items }));
  private draining = false;
  /** `reload-mercy` in ms (until init: 0, nothing to finish) */
  private mercy = 0;
  private timers: NodeJS.Timeout[] = [];
  private finish: (code: number) => void = () => {};

  constructor(signals: ProcessSignals) {
    this.signals = signals;
  }

  /** Runs until the worker has drained (resolves with the exit code). */
  run(): Promise<number> {
    return new Promise<number>((resolve) => {
      this.finish = resolve;
      process.on('message', (m: unknown, handle: unknown) => this.onMessage(m, handle));
      // the primary went away (killed): finish what is in flight, then leave
      process.on('disconnect', () => void this.drain(this.mercyMs(), 'the primary process is gone'));
      this.signals.onStop((signal) => this.onStopSignal(signal));
      this.signals.onReload(() =>
        this.log.info(
          `[uwrouter] SIGHUP received by worker ${process.pid}: the primary (pid ${process.ppid}) reloads; ignored`,
        ),
      );
      this.send({ t: 'hello' });
    });
  }

  private send(m: FromWorker, done?: () => void): void {
    if (!process.connected || !process.send) {
      done?.();
      return;
    }
    try {
      process.send(m, undefined, {}, done ? () => done() : undefined);
    } catch {
      done?.();
    }
  }

  private mercyMs(): number {
    return this.mercy;
  }

  private onMessage(m: unknown, handle: unknown): void {
    if (!isToWorker(m)) return;
    switch (m.t) {
      case 'init':
        this.init = m;
        this.setUp(m);
        break;
      case 'socket':
        if (handle) {
          // a copy not adopted yet is stale now (a released socket was bound again)
          this.dropHandle(m.index);
          this.handles[m.index] = handle as object;
        }
        for (const w of this.socketWaiters.splice(0)) w();
        break;
      case 'table':
        this.replicas.apply(m.table, m.op, m.items);
        break;
      case 'start':
        this.start().then(
          () => this.send({ t: 'ready' }),
          (e: unknown) => this.failed(e),
        );
        break;
      case 'drain':
        void this.drain(m.mercyMs, null);
        break;
      case 'stats':
        this.answerStats(m.id);
        break;
      case 'reopen-logs':
        this.logs?.reopen(m.signal);
        break;
    }
  }

  /** Logs and replicas, from the configuration the primary loaded and checked. */
  private setUp(init: Init): void {
    const config = new Config(new Map(init.config), OPTION_INDEX);
    usePemTexts(init.pem);
    this.mercy = config.int('reload-mercy') * 1000;
    const logs = new WorkerLogs(config, init.logFile, init.requestLogFile);
    this.logs = logs;
    this.log = logs.log;
    this.signals.useLogger(this.log);
    // SIGUSR2/SIGHUP sent to this worker itself (the primary's come as messages)
    this.signals.onReopenLogs((signal) => logs.reopen(signal));
    const sub = subscriptionSettingsFromConfig(config, init.router, this.log);
    if (sub && init.tables.length > 0) {
      this.subscription = new SubscriptionReplica({
        router: init.router,
        logger: this.log,
        algo: sub.algo,
        tolerance: sub.tolerance,
        dotsplit: sub.dotsplit,
        fallbackKey: sub.fallbackKey,
        report: (item) => this.replicas.report(this.subscription?.name ?? '', item),
      });
      this.replicas.register(this.subscription);
    }
    this.cacheSpecs = cacheConfigFromConfig(config).specs;
    for (const table of init.tables) {
      const spec = this.cacheSpecs.find((c) => table === `cache:${c.settings.name}`);
      if (!spec) continue;
      const replica: CacheReplica = new CacheReplica({
        cache: spec.settings.name,
        noExpire: spec.settings.noExpire,
        report: (item) => this.replicas.report(replica.name, item),
      });
      this.caches.set(spec.settings.name, replica);
      this.replicas.register(replica);
    }
  }

  /** `X-use-cache NAME`: this worker's replica of the cache, or why there is none. */
  private routeCache(name: string): CacheReplica | string {
    const r = routeCacheName(this.cacheSpecs, name);
    if (typeof r === 'string') return r;
    return this.caches.get(r.cache) ?? `internal: the primary sent no copy of cache "${r.cache}"`;
  }

  private async start(): Promise<void> {
    const init = this.init;
    if (!init) throw new Error('start before init');
    const config = new Config(new Map(init.config), OPTION_INDEX);
    const plan = routerPlans(config).find((p) => p.name === init.router);
    if (!plan) throw new Error(`the configuration has no ${init.router} listener`);
    const backlog = config.int('listen');
    // the router's i-th listener is the primary's i-th socket (both follow the configured
    // order): not found by its text, which two listeners may share (`127.0.0.1:0` twice)
    const socketAt = (address: string, i: number): number => {
      if (init.sockets[i]?.configured !== address) {
        throw new Error(`internal: listener ${i + 1} ("${address}") has no socket from the primary`);
      }
      return i;
    };
    const openListener = async (
      address: string,
      onConnection: Parameters<typeof adoptListener>[3],
      index: number,
    ): Promise<Listener> => {
      const i = socketAt(address, index);
      const handle = this.handles[i] ?? (await this.socketAgain(i));
      this.handles[i] = undefined;
      return adoptListener(handle, init.sockets[i], backlog, onConnection);
    };
    // a port-sharing socket (`--reuse-port`) starting cheap is not listened on: the primary
    // released it or will (spec: corerouter.md §7); its copy here is let go
    const startClosed = (address: string, index: number): Listener | null => {
      const i = socketAt(address, index);
      if (!init.sockets[i].sharesPort) return null;
      this.dropHandle(i);
      const server = createServer();
      return { ...init.sockets[i], server, close: () => Promise.resolve() };
    };
    const sub = this.subscription;
    // what building the router warns about, the primary logged once already
    const log = this.log.child({});
    log.level = 'error';
    const requestLog = this.logs?.openRequestLog(config) ?? null;
    const router = plan.factory(config, log, {
      version: `${init.version}-uwrouter`,
      openListener,
      startClosed,
      routeCache: (name) => this.routeCache(name),
      ...(requestLog ? { requestLog } : {}),
      subscription: sub
        ? {
            mapper: sub.mapper,
            stats: [primarySection('subscriptions'), primarySection('subscription_packets')],
            events: sub.table,
            socketNames: () => [],
          }
        : undefined,
    });
    log.level = this.log.level;
    this.router = router;
    // subscription certificates (sni_key/sni_crt) go to this worker's TLS contexts
    const tls = routerTlsRuntime(router);
    if (tls) {
      this.sni = tls.registry;
      sub?.bindSni(tls.registry);
      // --ssl-sessions-use-cache (checked by the primary, which logged it)
      const sessions = clusterSessionCache(config, this.cacheSpecs, (spec) => this.sessionStore(spec));
      if (sessions) {
        await this.redis?.open();
        tls.resumption.useSessionCache(sessions);
      }
    }
    await router.start();
    this.signals.setRouters([router]);
    this.timers.push(setInterval(() => this.send({ t: 'beat', sessions: router.activeSessions }), BEAT_MS));
    if (sub || this.caches.size > 0) this.timers.push(setInterval(() => this.reportUsage(), USAGE_MS));
  }

  /** Closes this process's unadopted copy of socket `index`, if any. */
  private dropHandle(index: number): void {
    const h = this.handles[index] as { close?: () => void } | undefined;
    this.handles[index] = undefined;
    try {
      h?.close?.();
    } catch {
      // closed already
    }
  }

  /**
   * Socket `index` once more: cheap mode closed this worker's copy (spec: corerouter.md §7);
   * the primary still holds the socket, bound and listening, and sends a new copy.
   */
  private socketAgain(index: number, timeoutMs = 10000): Promise<object> {
    return new Promise<object>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socketWaiters = this.socketWaiters.filter((w) => w !== check);
        reject(new Error(`the primary did not send socket ${index} again within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const check = (): void => {
        const h = this.handles[index];
        if (h) {
          clearTimeout(timer);
          resolve(h);
        } else this.socketWaiters.push(check);
      };
      if (this.socketWaiters.length === 0) this.send({ t: 'want-sockets' });
      this.socketWaiters.push(check);
    });
  }

  /**
   * The TLS session store of a cache: this worker's replica of a local one (its writes go
   * to the primary, which sends them to every worker), or its own client of a Redis one.
   */
  private sessionStore(spec: CacheSpec): CacheStore {
    if (spec.redis !== undefined) {
      this.redis ??= new RedisCacheStore(spec, this.log);
      return this.redis;
    }
    const replica = this.caches.get(spec.settings.name);
    if (!replica) throw new Error(`internal: the primary sent no copy of cache "${spec.settings.name}"`);
    return new ReplicaCacheStore(replica, spec.settings);
  }

  private reportUsage(): void {
    const sub = this.subscription;
    if (sub) for (const item of sub.usage()) this.replicas.report(sub.name, item);
    for (const c of this.caches.values()) {
      const used = c.usage();
      if (used) this.replicas.report(c.name, used);
    }
  }

  private failed(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.send({ t: 'failed', message, config: e instanceof UwrError && e.code === 'UWR_ERR_CONFIG' }, () =>
      this.finish(1),
    );
  }

  private answerStats(id: number): void {
    const router = this.router;
    if (!router) return;
    this.reportUsage();
    this.replicas.flush();
    const refs: Record<string, Array<[string, string, number]>> = {};
    const sni: Record<string, string[]> = {};
    const sub = this.subscription;
    if (sub) {
      refs[sub.name] = sub.refs();
      const registry = this.sni;
      if (registry) sni[sub.name] = registry.subscriptionPoolKeys();
    }
    this.send({
      t: 'stats',
      id,
      doc: router.statsDocument(),
      refs,
      sni,
      pid: process.pid,
      accepted: router.accepted,
    });
  }

  private onStopSignal(signal: StopSignal): void {
    if (this.draining) {
      this.log.info(`uwrouter worker ${process.pid}: ${signal} again, exiting now`);
      this.finish(1);
      return;
    }
    void this.drain(this.mercyMs(), `${signal} received`);
  }

  /**
   * Stop accepting, let sessions finish (up to `mercyMs`), close the rest, send the last
   * usage counters, exit. `why` is null when the primary asked.
   */
  private async drain(mercyMs: number, why: string | null): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (why !== null) {
      this.log.info(
        `uwrouter worker ${process.pid}: ${why}: finishing its requests (up to ${mercyMs / 1000} s)`,
      );
      this.send({ t: 'draining', why });
    }
    const router = this.router;
    if (router) {
      router.drain();
      let timer: NodeJS.Timeout | undefined;
      const left = await Promise.race([
        router.idle().then(() => 0),
        new Promise<number>((resolve) => {
          timer = setTimeout(() => resolve(router.activeSessions), mercyMs);
        }),
      ]);
      clearTimeout(timer);
      if (left > 0) {
        this.log.warn(
          `uwrouter worker ${process.pid}: reload-mercy (${mercyMs / 1000} s) is over: closing ${left} connection(s) still open`,
        );
      }
      await router.close();
    }
    for (const t of this.timers) clearInterval(t);
    this.reportUsage();
    this.replicas.flush();
    this.subscription?.close();
    this.redis?.close();
    await this.logs?.close();
    // the last messages are on their way once the channel took them
    this.send({ t: 'beat', sessions: 0 }, () => this.finish(0));
  }
}
