/**
 * What the primary keeps for one router across reloads: its subscription system (UDP
 * sockets, receiver, the one table) and the feed replicating that table, its stats socket,
 * and its worker groups (the current one, and older ones still draining).
 */
import type { Config, RouterName } from '../config/config.ts';
import type { Listener } from '../corerouter/listener.ts';
import { startStatsServer } from '../corerouter/stats-server.ts';
import type { Logger } from '../logger.ts';
import { copyTable, SubscriptionTableSource } from '../subscription/replication.ts';
import type { SubscriptionsStats } from '../subscription/stats.ts';
import {
  SubscriptionSystem,
  type SubscriptionSystemOptions,
  subscriptionFingerprint,
} from '../subscription/system.ts';
import type { SubscriptionSniSink } from '../subscription/table.ts';
import type { BoundSocket } from './bound-sockets.ts';
import { mergeStatsDocuments, type WorkerFigures } from './primary-stats.ts';
import { TableFeed } from './replication.ts';
import type { RouterGroup } from './router-group.ts';

export function oneLine(text: string): string {
  return text.replace(/\n\s*/g, '; ');
}

/** how long a stats document waits for the workers' figures */
const STATS_ANSWER_MS = 1000;

/**
 * The primary terminates no TLS: its workers attach the subscription certificates they are
 * sent (replica.ts). Its stats' `sni_enabled` says what they hold, as gathered with each
 * document.
 */
export class WorkerSniView implements SubscriptionSniSink {
  keys: ReadonlySet<string> = new Set();
  attachSubscription(): void {}
  detachSubscription(): void {}
  hasSubscriptionContext(poolKey: string): boolean {
    return this.keys.has(poolKey);
  }
}

export interface Subscribed {
  system: SubscriptionSystem;
  source: SubscriptionTableSource;
  feed: TableFeed;
  fingerprint: string;
  sniView: WorkerSniView;
}

/** A subscription system whose table changes go to a feed (nothing bound yet). */
export function buildSubscribed(settings: SubscriptionSystemOptions, from?: Subscribed): Subscribed {
  const source = new SubscriptionTableSource(settings.router);
  const system = new SubscriptionSystem({
    ...settings,
    hooks: source.hooks,
    history: from?.system.receiver.history,
  });
  source.table = system.table;
  const feed = new TableFeed(source);
  source.publish = (id, delta) => feed.publish(id, delta);
  if (from) copyTable(from.system.table, system.table);
  const sniView = new WorkerSniView();
  system.bindSni(sniView);
  return { system, source, feed, fingerprint: subscriptionFingerprint(settings), sniView };
}

export interface StatsSettings {
  address: string;
  http: boolean;
  minified: boolean;
  backlog: number;
  sharedSockets: readonly string[];
}

export class RouterRuntime {
  readonly name: RouterName;
  subscribed: Subscribed | null = null;
  group: RouterGroup | null = null;
  readonly draining = new Set<RouterGroup>();
  /** the bound names of the router's listeners (current configuration) */
  socketNames: string[] = [];
  stats: Listener | null = null;
  statsSettings: StatsSettings | null = null;
  /** the primary's own counters for this router (refused stats connections) */
  readonly counters = new Map<string, number>();
  version = '';
  /**
   * `--X-cheap` with `--reuse-port` (spec: corerouter.md §7): while the subscription table is
   * empty the primary holds no copy of the router's port-sharing sockets, so once the workers
   * have closed theirs too the kernel sends every connection to the others sharing the port
   */
  cheapSharesPort = false;
  /** the table whose first/last node events are watched (a rebuild brings a new one) */
  private watchedTable: object | null = null;

  constructor(name: RouterName) {
    this.name = name;
  }

  /** The subscription table's first/last node moves the port-sharing sockets (cheapSharesPort). */
  watchTable(log: Logger): void {
    const table = this.subscribed?.system.table;
    if (!table || table === this.watchedTable) return;
    this.watchedTable = table;
    const current = (): boolean => this.subscribed?.system.table === table;
    table.onLastNodeGone(() => {
      if (current() && this.cheapSharesPort) this.releaseSockets(log);
    });
    table.onFirstNode(() => {
      // the workers leave cheap mode on the same change and ask for them (or did already)
      if (current() && this.cheapSharesPort) this.rebindForWorkers(log);
    });
  }

  /**
   * After a (re)configuration: whether this router gives its port-sharing sockets up while
   * its table is empty (`cheapSharesPort`); released ones are released now or bound again.
   */
  applyPortSharing(cheapSharesPort: boolean, log: Logger): void {
    this.cheapSharesPort = cheapSharesPort;
    this.watchTable(log);
    if (cheapSharesPort && this.tableEmpty) this.releaseSockets(log);
    else if (!cheapSharesPort) this.rebindForWorkers(log);
  }

  /** The serving group's released sockets bound again and sent to the workers that asked. */
  private rebindForWorkers(log: Logger): void {
    this.bindReleased(this.group?.opts.spec.sockets ?? [], log);
    for (const w of this.group?.workers() ?? []) w.sendWantedSockets();
  }

  get tableEmpty(): boolean {
    return this.subscribed?.system.table.isEmpty() ?? true;
  }

  /**
   * The primary's copies of the router's port-sharing sockets close (the workers close theirs
   * as they go cheap). Connections already accepted go on; those still queued on the socket
   * when its last copy closes are reset by Linux unless `net.ipv4.tcp_migrate_req` is 1 (then
   * they move to another listener of the port).
   */
  releaseSockets(log: Logger): void {
    for (const { socket } of this.group?.opts.spec.sockets ?? []) {
      if (!socket.sharesPort || !socket.handle) continue;
      socket.release();
      log.info(
        `[uwrouter] ${this.name}: no nodes, cheap mode: ${socket.name} closed (its connections go to the other processes sharing the port)`,
      );
    }
  }

  /** Binds again the released sockets among `sockets`; a failure is logged (retried when a worker asks). */
  bindReleased(sockets: ReadonlyArray<{ socket: BoundSocket }>, log: Logger): void {
    for (const { socket } of sockets) {
      if (!socket.sharesPort || socket.handle) continue;
      try {
        socket.rebind();
        log.info(`[uwrouter] ${this.name}: ${socket.name} bound again (fd ${socket.fd})`);
      } catch (e) {
        log.error(`[uwrouter] ${this.name}: ${oneLine((e as Error).message)}; retried when a worker asks`);
      }
    }
  }

  /** Every table this router replicates (the cache will add its own). */
  feeds(): TableFeed[] {
    return this.subscribed ? [this.subscribed.feed] : [];
  }

  applyReports(table: string, items: unknown[]): void {
    const s = this.subscribed;
    if (s && s.feed.name === table)
      s.source.applyReports(items as Parameters<SubscriptionTableSource['applyReports']>[0]);
  }

  /**
   * The stats socket the configuration asks for: kept when unchanged, else replaced. A bind
   * failure throws at the first start; on a reload it is logged and the router goes without.
   */
  async placeStats(config: Config, log: Logger, firstStart: boolean): Promise<void> {
    const address = config.str(`${this.name}-stats`);
    const settings = address
      ? {
          address,
          http: config.flag('stats-http'),
          minified: config.flag('stats-minified'),
          backlog: config.int('listen'),
          sharedSockets: config.all('shared-socket'),
        }
      : null;
    if (JSON.stringify(settings) === JSON.stringify(this.statsSettings)) return;
    await this.stopStats();
    if (!settings) return;
    try {
      await this.startStats(settings, log);
    } catch (e) {
      if (firstStart) throw e;
      log.error(`[uwrouter] ${this.name}: stats server not started: ${oneLine((e as Error).message)}`);
    }
  }

  /**
   * New subscription settings (a reload): the table, its replay memory and the workers' feed
   * move to a new system. When its sockets cannot be bound, the previous one goes on.
   */
  async rebuildSubscription(settings: SubscriptionSystemOptions, log: Logger): Promise<void> {
    const old = this.subscribed;
    if (!old) return;
    await old.system.server.close();
    const sub = buildSubscribed(settings, old);
    try {
      await sub.system.listen();
    } catch (e) {
      await sub.system.close();
      log.error(
        `[uwrouter] ${this.name}: the new subscription settings could not be applied (${oneLine((e as Error).message)}): keeping the previous subscription server`,
      );
      await old.system.listen().catch((err: unknown) => log.error(`[uwrouter] ${this.name}: ${String(err)}`));
      return;
    }
    old.feed.handOver(sub.feed);
    old.system.table.close();
    this.subscribed = sub;
    this.watchTable(log);
  }

  async startStats(settings: StatsSettings, log: Logger): Promise<void> {
    this.statsSettings = settings;
    this.stats = await startStatsServer({
      address: settings.address,
      routerName: this.name,
      http: settings.http,
      minified: settings.minified,
      document: () => this.statsDocument(),
      count: (code) => this.counters.set(code, (this.counters.get(code) ?? 0) + 1),
      log,
      backlog: settings.backlog,
      sharedSockets: settings.sharedSockets,
    });
  }

  async stopStats(): Promise<void> {
    const l = this.stats;
    this.stats = null;
    this.statsSettings = null;
    await l?.close();
  }

  /** The router's stats document: the workers' figures merged with the primary's parts. */
  async statsDocument(): Promise<Record<string, unknown>> {
    // what the document shows, the workers have: pending table changes go out first (the
    // stats question follows them on each worker's channel)
    for (const f of this.feeds()) f.flush();
    const groups = [...(this.group ? [this.group] : []), ...this.draining];
    const figures: WorkerFigures[] = [];
    const asked: Array<Promise<void>> = [];
    for (const g of groups) {
      for (const w of g.workers()) {
        const f: WorkerFigures = {
          title: w.title,
          pid: w.pid,
          generation: w.spec.generation,
          state: w.state,
          answer: null,
          current: g === this.group && w.state !== 'draining',
        };
        figures.push(f);
        asked.push(
          w.stats(STATS_ANSWER_MS).then((a) => {
            f.answer = a;
          }),
        );
      }
    }
    await Promise.all(asked);
    // and what changed while they answered goes out before the document does
    for (const f of this.feeds()) f.flush();
    const s = this.subscribed;
    const sections = s ? s.system.stats : [];
    if (s) {
      const refs = new Map<object, number>();
      const sni = new Set<string>();
      for (const f of figures) {
        for (const [key, name, ref] of f.answer?.refs[s.feed.name] ?? []) {
          const node = s.system.table.pools.get(key)?.findNode(name);
          if (node) refs.set(node, (refs.get(node) ?? 0) + ref);
        }
        // a certificate served by the workers of the current configuration
        if (f.current) for (const key of f.answer?.sni?.[s.feed.name] ?? []) sni.add(key);
      }
      (sections[0] as SubscriptionsStats).refs = (n) => refs.get(n) ?? 0;
      s.sniView.keys = sni;
    }
    return mergeStatsDocuments(
      {
        routerName: this.name,
        version: this.version,
        socketNames: [...this.socketNames, ...(s ? s.system.server.addresses() : [])],
        sections,
        counters: this.counters,
      },
      figures,
    );
  }

  /** The SIGUSR1 stats source. */
  get opts(): { name: string } {
    return { name: this.name };
  }
}
