/**
 * The primary process of the `uwrouter` command: it binds every listening socket, owns the
 * subscription tables (and their UDP sockets, signature checks, stats servers), forks each
 * router's workers and hands them the sockets and table replicas, respawns them, kills stuck
 * ones (harakiri, or a worker that stopped reading its table changes), reloads (SIGHUP, --touch-reload) and stops (SIGTERM/SIGINT/SIGQUIT).
 * It keeps its pid for its whole life; workers come and go.
 *
 * A reload applies a configuration next to the running one: checked first (an invalid one is
 * one error line and changes nothing), then the sockets whose address did not change are
 * kept as they are (nothing is refused meanwhile), new ones bound, a new generation of
 * workers started with the table snapshot; once all serve, the old generation stops accepting
 * and finishes its requests and tunnels within reload-mercy, and removed sockets close. The
 * subscription tables survive (nodes need not re-announce).
 * spec: corerouter.md §1 (process model), §6 (shared sockets); README item 10
 */

import type { RouterName } from '../config/config.ts';
import { DISPLAY_NAME } from '../corerouter/names.ts';
import { ProcessSetupError, UwrError } from '../errors.ts';
import { createLogger, type Logger, type LogOutput } from '../logger.ts';
import { privilegeRequestFromConfig } from '../process/privileges.ts';
import type { ProcessSetup } from '../process/setup.ts';
import { unixSocketSettingsFromConfig } from '../process/unix-socket-mode.ts';
import type { ProcessSignals, StopSignal } from '../signals.ts';
import { ownAddressTexts } from '../start.ts';
import type { Subscriber } from '../subscription/client.ts';
import { OwnAddresses } from '../subscription/own-addresses.ts';
import {
  createSubscriberFromConfig,
  type SubscriptionSystemOptions as SubscriptionSettings,
} from '../subscription/system.ts';
import { type BoundSocket, bindConfiguredSockets } from './bound-sockets.ts';
import type { CheckedConfig } from './config-check.ts';
import {
  cheapSharesPort,
  type GroupContext,
  planSubscriptions,
  routerGroup,
  subscriberPrint,
} from './generation.ts';
import { InstanceServices } from './instance-services.ts';
import { checkReload } from './reload-check.ts';
import type { RouterGroup } from './router-group.ts';
import { oneLine, RouterRuntime, type Subscribed } from './router-runtime.ts';
import { TouchReload } from './touch-reload.ts';
import { WorkerFiles } from './worker-files.ts';

export interface PrimaryOptions {
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** where relative ini paths resolve on reload (the directory uwrouter started in) */
  cwd: string;
  version: string;
  log: Logger;
  signals: ProcessSignals;
  /** pidfiles, privilege drop, log files, --daemonize readiness (src/process/setup.ts) */
  setup: ProcessSetup;
  /** where the primary's log lines go (stderr, or the --logto file) */
  output: LogOutput;
}

export class Primary {
  private readonly opts: PrimaryOptions;
  private log: Logger;
  private checked: CheckedConfig;
  private generation = 0;
  /** the current configuration's sockets by key (bound-sockets.ts) */
  private sockets = new Map<string, BoundSocket>();
  private readonly runtimes = new Map<RouterName, RouterRuntime>();
  /** every socket this process ever served: a subscription naming one is refused */
  private readonly ownAddresses = new OwnAddresses();
  private subscriber: Subscriber | null = null;
  /** the caches and the instance stats (started before the first generation) */
  private services: InstanceServices | null = null;
  /** the files workers inherit (log file, request log file) */
  private readonly files: WorkerFiles;
  /** root at start: after the privilege drop a reload binds as the dropped user */
  private readonly startedAsRoot = process.getuid?.() === 0;
  private subscriberPrint = '';
  private touch: TouchReload | null = null;
  private readonly workerCheckTimer: NodeJS.Timeout;
  private lastWorkerCheck = Date.now();
  private stopping: StopSignal | null = null;
  private reloading = false;
  private reloadQueued = false;
  private finish: (code: number) => void = () => {};
  /** resolves with the exit code once the primary has stopped */
  readonly finished: Promise<number>;

  private constructor(checked: CheckedConfig, opts: PrimaryOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.checked = checked;
    this.files = new WorkerFiles(opts.setup);
    this.finished = new Promise((resolve) => {
      this.finish = (code) => {
        // the pidfiles go last: a supervisor that waits for them sees the primary done
        opts.setup.release(this.log);
        resolve(code);
      };
    });
    this.workerCheckTimer = setInterval(() => this.checkWorkers(), 1000);
  }

  /** Binds, forks and waits until every worker serves; throws (everything opened is closed). */
  static async start(checked: CheckedConfig, opts: PrimaryOptions): Promise<Primary> {
    const p = new Primary(checked, opts);
    try {
      p.services = await InstanceServices.start(checked.config, p.log, opts.version);
      if (p.services.statsName) p.ownAddresses.add(p.services.statsName);
      await p.apply(checked);
    } catch (e) {
      clearInterval(p.workerCheckTimer);
      await p.closeEverything();
      throw e;
    }
    const s = opts.signals;
    s.onReload(() => void p.reload('SIGHUP received'));
    s.onReopenLogs((signal) => p.reopenLogs(signal));
    s.setRouters([...p.runtimes.values()]);
    s.onStop((signal) => p.stop(signal));
    // a --daemonize start returns once the workers serve
    opts.setup.reportReady();
    return p;
  }

  /**
   * The one place root is given up: at the first start, once every socket is bound and
   * before any worker is forked, so workers start as the dropped identity (pidfile, the drop,
   * pidfile2, logto2: src/process/setup.ts). A reload can then only bind what that identity
   * may (as in uWSGI).
   */
  private dropPrivileges(): void {
    try {
      this.opts.setup.afterListenersBound(this.log, { reportReady: false });
    } catch (e) {
      // not a configuration mistake the command line could show: exit 1, as a bind failure
      if (e instanceof UwrError) throw new ProcessSetupError(e.message);
      throw e;
    }
  }

  /** Harakiri, and workers that stopped reading their channel (RouterGroup.checkWorkers). */
  private checkWorkers(): void {
    const now = Date.now();
    // a primary that was itself blocked has beats waiting unread: judge nobody this round
    const late = now - this.lastWorkerCheck > 1500;
    this.lastWorkerCheck = now;
    if (late || this.stopping) return;
    for (const rt of this.runtimes.values()) {
      rt.group?.checkWorkers(now);
      // a reload's old workers still drain: what waits unwritten for them counts too
      for (const g of rt.draining) g.checkWorkers(now);
    }
  }

  /**
   * Runs `checked` (the first configuration or a reload's). Throws before the switch when
   * anything fails, having undone what it opened; the running configuration is untouched.
   */
  private async apply(checked: CheckedConfig): Promise<void> {
    const config = checked.config;
    for (const a of ownAddressTexts(config)) this.ownAddresses.add(a);
    const { next, byRouter, fresh } = await bindConfiguredSockets(
      checked.plans.map((p) => ({ router: p.name, addresses: checked.listen.get(p.name) ?? p.listen })),
      {
        backlog: config.int('listen'),
        sharedSockets: config.all('shared-socket'),
        unixSocket: unixSocketSettingsFromConfig(config),
        reusePort: config.flag('reuse-port'),
      },
      this.sockets,
      (router, socket) => {
        this.log.info(`${DISPLAY_NAME[router as RouterName]} bound on ${socket.name} fd ${socket.fd}`);
      },
    );
    for (const s of next.values()) this.ownAddresses.add(s.name);
    const generation = this.generation + 1;
    // without a drop, datagrams are first read once the workers serve (as on a reload): a
    // burst of announcements does not compete with the workers' start-up for the CPU
    const req = privilegeRequestFromConfig(config);
    const dropsPrivileges = req.uid !== undefined || req.gid !== undefined;
    const listenedEarly = generation === 1 && dropsPrivileges;
    const groups = new Map<RouterName, RouterGroup>();
    let started: Subscribed[] = [];
    let rebuild = new Map<RouterName, SubscriptionSettings>();
    let subscriber: Subscriber | null = null;
    let print = '';
    try {
      const subscriptions = planSubscriptions(checked, this.runtimes, this.ownAddresses);
      ({ started, rebuild } = subscriptions);
      const names = checked.plans.flatMap((p) => (byRouter.get(p.name) ?? []).map((x) => x.socket.name));
      print = subscriberPrint(checked, names);
      if (print !== this.subscriberPrint)
        subscriber = createSubscriberFromConfig(config, this.log, { sockets: names });
      if (this.generation === 0) {
        // the first start binds everything before the privilege drop (a subscription server
        // or stats socket below port 1024 needs root, as uWSGI's master binds them before
        // setuid()); datagrams taken before the workers serve reach them in their snapshot
        for (const plan of checked.plans) {
          const rt = this.runtimeFor(plan.name, subscriptions.feeds.get(plan.name));
          await rt.placeStats(config, this.log, true);
          if (rt.stats) this.ownAddresses.add(rt.stats.name);
        }
        if (dropsPrivileges) for (const sub of started) await sub.system.listen();
        this.files.configure(config);
        this.dropPrivileges();
      } else this.files.configure(config);
      const context: GroupContext = {
        checked,
        generation,
        version: this.opts.version,
        log: this.log,
        byRouter,
        subscriptions,
        services: this.services,
        files: this.files,
        runtimes: this.runtimes,
        canRespawn: () => !this.stopping && !this.opts.signals.stopRequested,
      };
      for (const plan of checked.plans) {
        groups.set(plan.name, routerGroup(plan.name, context));
        this.runtimeFor(plan.name, subscriptions.feeds.get(plan.name));
      }
      await Promise.all([...groups.values()].map((g) => g.start()));
    } catch (e) {
      await Promise.all([...groups.values()].map((g) => g.retire(0)));
      for (const sub of started) {
        for (const rt of this.runtimes.values()) if (rt.subscribed === sub) rt.subscribed = null;
        await sub.system.close();
      }
      for (const [name, rt] of this.runtimes) {
        if (rt.group || rt.subscribed) continue;
        await rt.stopStats();
        this.runtimes.delete(name);
      }
      for (const s of fresh) s.close();
      throw e;
    }
    // with a privilege drop, the first start's subscription servers listen already
    await this.switchTo(checked, generation, groups, next, rebuild, listenedEarly ? [] : started);
    if (subscriber) {
      const old = this.subscriber;
      this.subscriber = subscriber;
      this.subscriberPrint = print;
      await old?.stop();
      subscriber.start();
    }
  }

  /** The router's runtime (made now the first time); a first-time subscription system becomes its. */
  private runtimeFor(name: RouterName, sub: Subscribed | undefined): RouterRuntime {
    const rt = this.runtimes.get(name) ?? new RouterRuntime(name);
    if (!rt.subscribed && sub) rt.subscribed = sub;
    this.runtimes.set(name, rt);
    return rt;
  }

  /** From here the new generation serves; nothing below undoes it. */
  private async switchTo(
    checked: CheckedConfig,
    generation: number,
    groups: Map<RouterName, RouterGroup>,
    next: Map<string, BoundSocket>,
    rebuild: Map<RouterName, SubscriptionSettings>,
    started: readonly Subscribed[],
  ): Promise<void> {
    const config = checked.config;
    const mercyMs = checked.mercyMs;
    this.checked = checked;
    this.generation = generation;
    for (const [name, rt] of this.runtimes) {
      const old = rt.group;
      rt.group = groups.get(name) ?? null;
      rt.version = `${this.opts.version}-uwrouter`;
      if (old) this.retire(rt, old, mercyMs);
      if (rt.group && rt.subscribed && !checked.subscriptions.has(name)) {
        // the router stays, its subscription server is gone from the configuration
        const sub = rt.subscribed;
        rt.subscribed = null;
        await sub.system.close();
      }
      if (!rt.group) {
        // the router is gone from the configuration
        await rt.stopStats();
        const sub = rt.subscribed;
        rt.subscribed = null;
        await sub?.system.close();
        if (rt.draining.size === 0) this.runtimes.delete(name);
      }
    }
    for (const [name, settings] of rebuild)
      await this.runtimes.get(name)?.rebuildSubscription(settings, this.log);
    for (const plan of checked.plans) {
      const rt = this.runtimes.get(plan.name) as RouterRuntime;
      // spec: corerouter.md §7: cheap on a shared port holds no copy while there is no node
      rt.applyPortSharing(cheapSharesPort(checked, plan.name), this.log);
      rt.socketNames = (groups.get(plan.name)?.opts.spec.sockets ?? []).map((s) => s.socket.name);
      await rt.placeStats(config, this.log, generation === 1);
      if (rt.stats) this.ownAddresses.add(rt.stats.name);
    }
    // datagrams are taken once the router's workers serve what the nodes announce
    for (const sub of started) {
      try {
        await sub.system.listen();
      } catch (e) {
        if (generation === 1) throw e;
        this.log.error(`[uwrouter] subscription server not started: ${oneLine((e as Error).message)}`);
      }
    }
    for (const [key, s] of this.sockets) if (!next.has(key)) s.close();
    this.sockets = next;
    this.touch?.close();
    const files = config.all('touch-reload');
    this.touch =
      files.length > 0 ? new TouchReload(files, (f) => void this.reload(`${f} was touched`)) : null;
    this.opts.signals.setRouters([...this.runtimes.values()].filter((r) => r.group));
    const summary = [...groups.values()].map((g) => `${DISPLAY_NAME[g.opts.spec.router]} ×${g.opts.count}`);
    this.log.info(
      `[uwrouter] generation ${generation} serving: ${summary.join(', ')} (primary pid ${process.pid})`,
    );
  }

  private retire(rt: RouterRuntime, group: RouterGroup, mercyMs: number): void {
    rt.draining.add(group);
    void group.retire(mercyMs).then(() => {
      rt.draining.delete(group);
      if (!rt.group && rt.draining.size === 0 && this.runtimes.get(rt.name) === rt)
        this.runtimes.delete(rt.name);
    });
  }

  /** SIGHUP / --touch-reload: re-read the configuration and apply it next to the running one. */
  async reload(reason: string): Promise<void> {
    if (this.stopping) return;
    if (this.reloading) {
      this.reloadQueued = true;
      this.log.info(`[uwrouter] ${reason}: a reload is running; another one follows it`);
      return;
    }
    this.reloading = true;
    try {
      this.log.info(`[uwrouter] ${reason}: reloading the configuration`);
      const checked = checkReload(this.opts, this.checked.config, this.log);
      if (checked === undefined) return;
      const s = checked.settings;
      const log = createLogger(s.logFormat, s.logLevel, { date: s.logDate, output: this.opts.output });
      try {
        await this.apply(checked);
      } catch (e) {
        const message = oneLine((e as Error).message);
        const uid = process.getuid?.();
        // the primary gave up root after its first start: ports below 1024 stay out of reach
        const hint =
          /EACCES/.test(message) && uid !== 0 && this.startedAsRoot
            ? ` (uwrouter runs as uid ${uid} since its start: a reload cannot bind a privileged port or open a root-only file; restart it to do so)`
            : '';
        this.log.error(
          `[uwrouter] reload failed, still running the previous configuration: ${message}${hint}`,
        );
        return;
      }
      // the new workers started there already; relative paths read later resolve there too
      if (s.chdir !== undefined) process.chdir(s.chdir);
      this.log = log;
      this.opts.signals.useLogger(log);
    } finally {
      this.reloading = false;
      if (this.reloadQueued && !this.stopping) {
        this.reloadQueued = false;
        void this.reload('queued reload');
      }
    }
  }

  /** SIGUSR2, SIGHUP: the primary's log file, then every worker's files (each says what it reopened). */
  private reopenLogs(signal: 'SIGUSR2' | 'SIGHUP'): void {
    const setup = this.opts.setup;
    if (setup.writesLogFile) setup.reopenLogs(this.log, signal);
    this.files.reopen();
    if (!setup.writesLogFile && !this.files.hasRequestLogFile && signal === 'SIGUSR2') {
      this.log.info(
        '[uwrouter] SIGUSR2 received: nothing to do (no log file to reopen; uWSGI workers print their current request; SIGUSR1 logs the stats)',
      );
      return;
    }
    for (const rt of this.runtimes.values())
      for (const w of rt.group?.workers() ?? []) w.send({ t: 'reopen-logs', signal });
  }

  /** The first stop signal stops gracefully; a second one at once. */
  stop(signal: StopSignal): void {
    if (this.stopping) {
      this.log.info(`uwrouter: ${signal} again, exiting now`);
      for (const rt of this.runtimes.values()) {
        rt.group?.killAll();
        for (const g of rt.draining) g.killAll();
      }
      for (const s of this.sockets.values()) s.close();
      this.finish(1);
      return;
    }
    this.stopping = signal;
    const mercy = this.checked.mercyMs / 1000;
    this.log.info(
      `uwrouter: ${signal} received, shutting down: no new connections, unsubscribing, requests in flight have up to ${mercy} s (reload-mercy)`,
    );
    void this.stopGracefully().then(
      () => this.finish(0),
      (e: unknown) => {
        this.log.error(`uwrouter: stopping: ${String(e)}`);
        this.finish(1);
      },
    );
  }

  private async stopGracefully(): Promise<void> {
    clearInterval(this.workerCheckTimer);
    this.touch?.close();
    const unsubscribed = this.subscriber?.stop();
    const retiring: Array<Promise<void>> = [];
    // every group drains, the serving ones and those still draining from a reload; they stay
    // in `draining` so that a second stop signal finds them to kill
    for (const rt of [...this.runtimes.values()]) {
      const g = rt.group;
      rt.group = null;
      if (g) rt.draining.add(g);
      for (const d of rt.draining) retiring.push(d.retire(this.checked.mercyMs));
    }
    // the workers close their copies as they drain: once this one goes, connections are refused
    for (const s of this.sockets.values()) s.close();
    await Promise.all([...retiring, unsubscribed]);
    await this.closeEverything();
  }

  private async closeEverything(): Promise<void> {
    clearInterval(this.workerCheckTimer);
    this.touch?.close();
    await this.subscriber?.stop();
    for (const rt of this.runtimes.values()) {
      // a start that failed half-way: no worker outlives the primary
      rt.group?.killAll();
      for (const g of rt.draining) g.killAll();
      await rt.stopStats();
      await rt.subscribed?.system.close();
    }
    for (const s of this.sockets.values()) s.close();
    // the caches go after the workers (store files written last)
    await this.services?.close();
    this.services = null;
    this.files.close();
  }
}
