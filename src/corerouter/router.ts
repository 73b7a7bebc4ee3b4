/**
 * CoreRouter: what every router shares — listeners, the active mapper, fallbacks and retry
 * settings, timeouts, cheap mode, session accounting and the stats document. A router
 * (fastrouter, rawrouter, HTTP router, sslrouter) only supplies `onConnection`: how to read
 * the key and frame bytes.
 */
import type { Socket } from 'node:net';
import { ConnectionLog } from '../connection-log.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { UnixSocketSettings } from '../process/unix-socket-mode.ts';
import type { RouteContext } from './connect.ts';
import { ConnectionLimit } from './connection-limit.ts';
import { type Listener, listen } from './listener.ts';
import { OutgoingEndpoints } from './outgoing-endpoints.ts';
import { Roster } from './roster.ts';
import { renderStatsJson } from './stats-json.ts';
import { startStatsServer } from './stats-server.ts';
import type { BackendAddress, KeyMapper, NodeTableEvents, StatsSection } from './types.ts';

export interface CoreRouterOptions {
  /** short name: `fastrouter`, `rawrouter`, `sslrouter`, `http` */
  name: string;
  /** `uWSGI fastrouter`, … (log lines, spec: corerouter.md §9) */
  displayName: string;
  listen: readonly string[];
  mapper: KeyMapper | null;
  fallbacks: readonly BackendAddress[];
  fallbackOnNoKey: boolean;
  maxRetries: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  quiet: boolean;
  backlog: number;
  sharedSockets: readonly string[];
  /** `--reuse-port`: the listening TCP sockets this router binds get SO_REUSEPORT */
  reusePort?: boolean;
  /** `--chmod-socket` / `--chown-socket` for the UNIX sockets this router binds */
  unixSocket?: UnixSocketSettings;
  /** `X-max-connections`: open client connections allowed at once (0 = no limit) */
  maxConnections?: number;
  /** what a client over `maxConnections` is sent before the close (HTTP: a 503); none = just close */
  overLimitReply?: Buffer;
  /** false for listeners whose clients must not get `overLimitReply` (TLS ones: it is plaintext) */
  overLimitReplyOn?: (listener: Listener) => boolean;
  cheap: boolean;
  stats?: string;
  statsHttp: boolean;
  statsMinified: boolean;
  statsSections: readonly StatsSection[];
  nodeEvents?: NodeTableEvents;
  /** other bound addresses listed in stats (subscription servers) */
  extraSocketNames?: () => readonly string[];
  log: Logger;
  version: string;
  /** run by `close()` after the sessions are ended (a router's own resources: node pools) */
  onClose?: () => void;
  /**
   * Listening sockets come from elsewhere (a cluster worker adopts the primary's): called
   * for each `listen` address instead of binding here; the "bound on" line is the binder's.
   * `index` is the address's position in `listen`: two listeners may be configured with the
   * same text (`127.0.0.1:0` twice is two sockets), so the text alone does not name one.
   */
  openListener?: (
    address: string,
    onConnection: (socket: Socket, listener: Listener) => void,
    index: number,
  ) => Promise<Listener>;
  /**
   * With `openListener`, cheap at start and the table empty: the listener of `address` (at
   * `index` in `listen`) as closed (not listening yet, opened on the first node), or null to
   * open it as usual. A socket shared with other processes (`--reuse-port`) must not listen
   * at all while cheap, or the kernel would queue its share of the connections there
   * (spec: corerouter.md §7).
   */
  startClosed?: (address: string, index: number) => Listener | null;
}

export type ConnectionHandler = (client: Socket, listener: Listener, core: CoreRouter) => void;

/**
 * A session that can wind down when the router drains (reload, graceful stop): it sets itself
 * on its client socket under this symbol. Sessions without one just run to their end.
 */
export const DRAIN = Symbol('uwrouter drain');
export interface DrainableSession {
  /** the router stopped accepting: finish the current exchange, then close (no keepalive) */
  drain(): void;
}

export class CoreRouter implements RouteContext {
  readonly opts: CoreRouterOptions;
  readonly log: Logger;
  /** per-connection log lines: fields, levels, rate limit per code (connection-log.ts) */
  readonly connectionLog: ConnectionLog;
  readonly listeners: Listener[] = [];
  /** counters by error/outcome code, shown in stats under `uwrouter.counters` */
  readonly counters = new Map<string, number>();
  /** open client connections; `active_sessions` in stats */
  readonly clients = new Roster<Socket>();
  /** open node connections: a client that is one of them is this router talking to itself */
  readonly outgoing = new OutgoingEndpoints((port) => this.listensOn(port));
  private readonly handler: ConnectionHandler;
  private readonly limit: ConnectionLimit;
  private statsListener: Listener | null = null;
  private cheapMode = false;
  /** whether the listeners are accepting now (cheap mode closes them: spec: corerouter.md §7) */
  private accepting = true;
  /** listener closes and re-opens, one after the other (cheap mode can flip while one is under way) */
  private acceptChange: Promise<void> = Promise.resolve();
  /** positions in `listeners` closed by cheap mode (not re-opened yet) */
  private readonly closedListeners = new Set<number>();
  private closing = false;
  private drainingNow = false;
  /** connections accepted since start (each worker's share: the accept balance) */
  accepted = 0;

  constructor(opts: CoreRouterOptions, handler: ConnectionHandler) {
    this.opts = opts;
    this.log = opts.log;
    this.connectionLog = new ConnectionLog(opts.log, `uwsgi-${opts.name}`);
    this.handler = handler;
    this.limit = new ConnectionLimit({
      max: opts.maxConnections ?? 0,
      reply: opts.overLimitReply,
      option: `--${opts.name}-max-connections`,
      logPrefix: `uwsgi-${opts.name}`,
      log: opts.log,
      count: (code) => this.count(code),
    });
  }

  get mapper(): KeyMapper | null {
    return this.opts.mapper;
  }
  get fallbacks(): readonly BackendAddress[] {
    return this.opts.fallbacks;
  }
  get fallbackOnNoKey(): boolean {
    return this.opts.fallbackOnNoKey;
  }
  get maxRetries(): number {
    return this.opts.maxRetries;
  }
  get connectTimeoutMs(): number {
    return this.opts.connectTimeoutMs;
  }
  get quiet(): boolean {
    return this.opts.quiet;
  }
  get logPrefix(): string {
    return `uwsgi-${this.opts.name}`;
  }
  get activeSessions(): number {
    return this.clients.size;
  }
  get cheap(): boolean {
    return this.cheapMode;
  }
  /** stopped accepting; sessions finish their current exchange and close (DrainableSession) */
  get draining(): boolean {
    return this.drainingNow;
  }

  count(code: string): void {
    this.counters.set(code, (this.counters.get(code) ?? 0) + 1);
  }

  async start(): Promise<void> {
    if (this.opts.cheap && this.opts.nodeEvents && !this.opts.openListener) {
      // closing its own socket would refuse clients instead of queueing them (see syncAccepting)
      throw new ConfigError(
        `--${this.opts.name}-cheap: cheap mode needs the listening sockets held by the uwrouter command's primary process; embedded routers cannot stop accepting without closing them`,
      );
    }
    const lo = {
      backlog: this.opts.backlog,
      sharedSockets: this.opts.sharedSockets,
      unixSocket: this.opts.unixSocket,
    };
    const open = this.opts.openListener;
    const startsCheap = this.opts.cheap && this.opts.nodeEvents?.isEmpty() === true;
    for (const addr of this.opts.listen) {
      // listeners[i] is the listener of listen[i]
      const index = this.listeners.length;
      const closed = open && startsCheap ? (this.opts.startClosed?.(addr, index) ?? null) : null;
      if (closed) {
        this.closedListeners.add(index);
        this.listeners.push(closed);
        continue;
      }
      if (open) {
        this.listeners.push(await open(addr, this.onConnection, index));
        continue;
      }
      const l = await listen(addr, { ...lo, reusePort: this.opts.reusePort }, this.onConnection);
      this.listeners.push(l);
      this.log.info(`${this.opts.displayName} bound on ${l.name} fd ${l.fd}`);
    }
    if (this.opts.stats) {
      this.statsListener = await startStatsServer({
        address: this.opts.stats,
        routerName: this.opts.name,
        http: this.opts.statsHttp,
        document: () => this.statsDocument(),
        minified: this.opts.statsMinified,
        count: (code) => this.count(code),
        log: this.log,
        ...lo,
      });
    }
    const ev = this.opts.nodeEvents;
    if (this.opts.cheap && ev) {
      // spec: corerouter.md §7
      this.log.info(`starting ${this.opts.displayName} in cheap mode`);
      if (ev.isEmpty()) {
        this.cheapMode = true;
        // closed before the event loop polls them: no connection is accepted meanwhile
        this.syncAccepting();
      }
      ev.onFirstNode(() => this.leaveCheap());
      ev.onLastNodeGone(() => this.enterCheap());
    }
  }

  /** a 'close' listener shared by all clients (the socket is `this`): no closure per connection */
  private readonly forgetClient = ((clients: Roster<Socket>) =>
    function (this: Socket): void {
      clients.delete(this);
    })(this.clients);

  private readonly onConnection = (client: Socket, listener: Listener): void => {
    if (this.closing) {
      client.destroy();
      return;
    }
    this.accepted++;
    if (!this.limit.admits(this.clients.size)) {
      this.limit.refuse(client, this.clients.size, this.opts.overLimitReplyOn?.(listener) ?? true);
      return;
    }
    this.clients.add(client);
    client.on('close', this.forgetClient);
    this.handler(client, listener, this);
  };

  enterCheap(): void {
    if (this.cheapMode || !this.opts.cheap) return;
    if (this.opts.fallbacks.length > 0) return;
    this.cheapMode = true;
    this.log.info(`[${this.opts.displayName} pid ${process.pid}] no more nodes available. Going cheap...`);
    this.syncAccepting();
  }

  leaveCheap(): void {
    if (!this.cheapMode) return;
    this.cheapMode = false;
    this.log.info(`[${this.opts.displayName} pid ${process.pid}] leaving cheap mode...`);
    this.syncAccepting();
  }

  /**
   * Cheap mode does not accept (spec: corerouter.md §7): the listeners are closed, which
   * closes only this process's copy of each socket; the cluster primary keeps it bound and
   * listening, so clients wait in the kernel backlog (or go to another process that listens
   * on it) until the first subscription re-opens them (`openListener` again). Sessions in
   * flight are not touched. Serialized: cheap mode may flip again while a re-open waits.
   */
  private syncAccepting(): void {
    const step = async (): Promise<void> => {
      const want = !this.cheapMode && !this.drainingNow && !this.closing;
      if (want === this.accepting) return;
      if (!want) {
        this.accepting = false;
        // a server's close() completes only once its connections are gone: not waited for
        for (let i = 0; i < this.listeners.length; i++) {
          if (this.closedListeners.has(i)) continue;
          this.closedListeners.add(i);
          void this.listeners[i].close();
        }
        return;
      }
      const open = this.opts.openListener;
      if (!open) return;
      try {
        for (const i of [...this.closedListeners]) {
          this.listeners[i] = await open(this.listeners[i].configured, this.onConnection, i);
          this.closedListeners.delete(i);
        }
        this.accepting = true;
      } catch (e) {
        this.count('UWR_ERR_LISTEN');
        this.log.error(
          `[${this.opts.displayName} pid ${process.pid}] cannot accept again after cheap mode: ${(e as Error).message}; retrying in 1 s`,
        );
        setTimeout(() => this.syncAccepting(), 1000).unref();
        return;
      }
      // the state may have changed while the sockets came back
      if (this.cheapMode || this.drainingNow || this.closing) this.syncAccepting();
    };
    this.acceptChange = this.acceptChange.then(step);
  }

  /**
   * Whether one of this router's listeners (plain, TLS or closed by cheap mode) is bound on
   * TCP `port`: only a node connection to such a port can be the router talking to itself.
   */
  listensOn(port: number): boolean {
    for (const l of this.listeners) if (boundPort(l.name) === port) return true;
    return false;
  }

  /** the stats socket's bound name, once started (null without `X-stats`) */
  get statsName(): string | null {
    return this.statsListener?.name ?? null;
  }

  socketNames(): string[] {
    const names = this.listeners.map((l) => l.name);
    if (this.opts.extraSocketNames) names.push(...this.opts.extraSocketNames());
    return names;
  }

  /** The stats document with uWSGI's field names (spec: corerouter.md §8). */
  statsDocument(): Record<string, unknown> {
    const doc: Record<string, unknown> = {
      version: this.opts.version,
      pid: process.pid,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      cwd: process.cwd(),
      active_sessions: this.activeSessions,
      [this.opts.name]: this.socketNames(),
    };
    for (const s of this.opts.statsSections) doc[s.statsName] = s.statsJson();
    doc.cheap = this.cheapMode ? 1 : 0;
    doc.uwrouter = { counters: Object.fromEntries(this.counters) };
    return doc;
  }

  renderStats(): string {
    return renderStatsJson(this.statsDocument(), this.opts.statsMinified);
  }

  /**
   * Stops accepting (closes the listeners and the stats socket) and asks every session to
   * finish what it is doing and close; connections accepted meanwhile are still served.
   * `idle()` tells when the last one ended; `close()` ends what is left.
   */
  drain(): void {
    if (this.drainingNow || this.closing) return;
    this.drainingNow = true;
    // a server's close() completes only once its connections are gone: not waited for here
    for (const l of this.listeners) void l.close();
    void this.statsListener?.close();
    for (const c of this.clients) (c as Socket & { [DRAIN]?: DrainableSession })[DRAIN]?.drain();
  }

  /** Resolves once no client connection is open (polled: only used while draining). */
  idle(pollMs = 50): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.clients.size === 0) resolve();
        else setTimeout(check, pollMs);
      };
      check();
    });
  }

  /** Stops accepting, ends every session, removes UNIX socket files. */
  async close(): Promise<void> {
    this.closing = true;
    this.limit.close();
    const closing = this.listeners.map((l) => l.close());
    if (this.statsListener) closing.push(this.statsListener.close());
    for (const c of this.clients) c.destroy();
    this.opts.onClose?.();
    await Promise.all(closing);
    this.connectionLog.flush();
  }
}

/** The port of a bound TCP name (`IP:PORT`, `:PORT`, `[v6]:PORT`), read without allocating; -1 for a path. */
function boundPort(name: string): number {
  if (name.charCodeAt(0) === 0x2f) return -1;
  let port = 0;
  let scale = 1;
  for (let i = name.length - 1; i >= 0; i--) {
    const c = name.charCodeAt(i);
    if (c === 0x3a) return scale > 1 ? port : -1;
    if (c < 0x30 || c > 0x39 || scale > 10000) return -1;
    port += (c - 0x30) * scale;
    scale *= 10;
  }
  return -1;
}
