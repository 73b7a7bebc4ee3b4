/**
 * The process's signal handling, installed by src/cli.ts before the rest of uwrouter is
 * loaded so that none of Node's defaults ever applies (in the primary and in every worker):
 * - SIGUSR1 would open Node's inspector on 127.0.0.1:9229 (code execution for any local
 *   user); here it logs one stats line per router, as uWSGI's master logs its stats.
 * - SIGHUP would kill the process (exit 129, no unsubscribe, UNIX socket files left); here
 *   it reopens the log files, then the primary reloads (src/cluster/primary.ts); a worker
 *   ignores it with one line.
 * - SIGUSR2 would kill the process; here it reopens the log files (`--logto`, the request
 *   log: logrotate's postrotate), or logs one line when there are none.
 * - SIGINT/SIGTERM/SIGQUIT stop gracefully (a second one exits at once).
 * Left at their defaults, deliberately: SIGPIPE (Node ignores it), SIGWINCH (ignored unless a
 * terminal resizes), SIGTSTP/SIGTTIN/SIGTTOU (stop, as a job-control shell expects; catching
 * SIGTTOU would turn a background write to a `stty tostop` terminal into a busy loop, and
 * Node cannot ignore a signal). This module imports nothing at run time.
 */

/** What a stats line needs from a router (CoreRouter has it; a cluster primary's is async). */
export interface RouterStatsSource {
  readonly opts: { readonly name: string };
  statsDocument(): Record<string, unknown> | Promise<Record<string, unknown>>;
}

type Doc = Record<string, unknown>;

function asArray(v: unknown): Doc[] {
  return Array.isArray(v) ? (v as Doc[]) : [];
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/**
 * One line per router from its stats document (the same numbers the stats server shows):
 * `fastrouter pid 42 on 127.0.0.1:3017: 3 active sessions, 120 requests sent to nodes,
 * 2 nodes (2 static, 0 subscribed under 0 keys), errors: UWR_ERR_CONNECT=4`.
 */
export function routerStatsLine(router: { readonly opts: { readonly name: string } }, doc: Doc): string {
  const name = router.opts.name;
  const listeners = Array.isArray(doc[name]) ? (doc[name] as unknown[]).join(', ') : '';
  const statics = asArray(doc.static_nodes);
  const pools = asArray(doc.subscriptions);
  let requests = 0;
  let subscribed = 0;
  for (const n of statics) requests += num(n.hits);
  for (const p of pools) {
    for (const n of asArray(p.nodes)) {
      subscribed++;
      requests += num(n.requests);
    }
  }
  const counters = (doc.uwrouter as { counters?: Record<string, number> } | undefined)?.counters ?? {};
  const errors = Object.entries(counters)
    .filter(([, n]) => n > 0)
    .map(([code, n]) => `${code}=${n}`);
  return (
    `${name} pid ${num(doc.pid)} on ${listeners}: ${num(doc.active_sessions)} active sessions, ` +
    `${requests} requests sent to nodes, ${statics.length + subscribed} nodes (${statics.length} static, ` +
    `${subscribed} subscribed under ${pools.length} keys)${doc.cheap === 1 ? ', cheap mode' : ''}, ` +
    `errors: ${errors.length > 0 ? errors.join(' ') : 'none'}`
  );
}

type Line = (text: string) => void;
/** reopens log files; called with the signal's name (src/process/setup.ts) */
export type LogReopener = (signal: 'SIGUSR2' | 'SIGHUP') => void;
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGQUIT';
const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];

function stderrLine(text: string): void {
  process.stderr.write(`${text}\n`);
}

export class ProcessSignals {
  private info: Line = stderrLine;
  private warn: Line = stderrLine;
  private routers: readonly RouterStatsSource[] = [];
  private readonly reopeners: LogReopener[] = [];
  private stopHandler: ((signal: StopSignal) => void) | null = null;
  private reloadHandler: (() => void) | null = null;
  /** a stop signal that came before the routers ran */
  private pendingStop: StopSignal | null = null;
  /** a reopen asked before anything could reopen (logrotate during start-up): done then */
  private pendingReopen: 'SIGUSR2' | 'SIGHUP' | null = null;
  private installed = false;

  /** Take over SIGUSR1, SIGUSR2, SIGHUP, SIGINT, SIGTERM, SIGQUIT (once per process). */
  install(): this {
    if (this.installed) return this;
    this.installed = true;
    process.on('SIGUSR1', () => this.logStats());
    process.on('SIGUSR2', () => this.reopenLogs());
    process.on('SIGHUP', () => this.reload());
    for (const s of STOP_SIGNALS) process.on(s, () => this.stop(s));
    return this;
  }

  /** Log through the process logger from now on. */
  useLogger(log: { info(msg: string): void; warn(msg: string): void }): void {
    this.info = (t) => log.info(t);
    this.warn = (t) => log.warn(t);
  }

  /**
   * SIGUSR2 and SIGHUP call every `reopen` (log files and the request log: logrotate renames
   * them, then signals); each logs its own line.
   */
  onReopenLogs(reopen: LogReopener): void {
    this.reopeners.push(reopen);
    const pending = this.pendingReopen;
    this.pendingReopen = null;
    if (pending) reopen(pending);
  }

  /** The routers whose stats SIGUSR1 logs. */
  setRouters(routers: readonly RouterStatsSource[]): void {
    this.routers = routers;
  }

  /** Called on SIGINT/SIGTERM/SIGQUIT; a stop signal received earlier is delivered now. */
  onStop(handler: (signal: StopSignal) => void): void {
    this.stopHandler = handler;
    const pending = this.pendingStop;
    this.pendingStop = null;
    if (pending) handler(pending);
  }

  /** Called on SIGHUP (the primary reloads; a worker logs that it ignores it). */
  onReload(handler: () => void): void {
    this.reloadHandler = handler;
  }

  /** A stop signal that arrived while starting (main checks it before binding). */
  get stopRequested(): StopSignal | null {
    return this.pendingStop;
  }

  logStats(): void {
    if (this.routers.length === 0) {
      this.info('[uwrouter] SIGUSR1 received: no router is running yet, no stats');
      return;
    }
    for (const r of this.routers) {
      const doc = r.statsDocument();
      if (doc instanceof Promise) {
        doc.then(
          (d) => this.info(`[uwrouter] SIGUSR1 stats: ${routerStatsLine(r, d)}`),
          (e: unknown) =>
            this.warn(`[uwrouter] SIGUSR1: the ${r.opts.name} stats could not be read: ${String(e)}`),
        );
      } else this.info(`[uwrouter] SIGUSR1 stats: ${routerStatsLine(r, doc)}`);
    }
  }

  /** SIGHUP: the log files are reopened first (uWSGI's reload reopens them too), then the reload. */
  private reload(): void {
    if (this.reopeners.length > 0) for (const r of this.reopeners) r('SIGHUP');
    else this.pendingReopen = 'SIGHUP';
    if (this.reloadHandler) {
      this.reloadHandler();
      return;
    }
    this.warn(
      '[uwrouter] SIGHUP received while starting: no reload (send it again once uwrouter runs); the log files are reopened once it runs',
    );
  }

  private reopenLogs(): void {
    if (this.reopeners.length > 0) {
      for (const r of this.reopeners) r('SIGUSR2');
      return;
    }
    // logrotate renamed the files while uwrouter starts: they are reopened once it runs
    this.pendingReopen = 'SIGUSR2';
    this.info('[uwrouter] SIGUSR2 received while starting: the log files are reopened once uwrouter runs');
  }

  private stop(signal: StopSignal): void {
    if (this.stopHandler) {
      this.stopHandler(signal);
      return;
    }
    if (this.pendingStop) {
      this.info(`uwrouter: ${signal} again while starting, exiting now`);
      process.exit(1);
    }
    this.pendingStop = signal;
    this.info(`uwrouter: ${signal} received while starting: stopping as soon as start-up ends`);
  }
}
