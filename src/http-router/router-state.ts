/**
 * The state every connection of one HTTP router shares: settings, the HTTP-node pool, the
 * timeout sweep, per-listener facts and the router's own stats section.
 */
import { IdleSweep } from '../corerouter/idle-sweep.ts';
import type { Listener } from '../corerouter/listener.ts';
import type { StatsSection } from '../corerouter/types.ts';
import type { RequestLog } from '../request-log.ts';
import type { HttpNodePool } from './http-node.ts';
import { serverPortOf } from './request-vars.ts';
import type { HttpRouterSettings } from './settings.ts';
import { makeViaToken } from './via.ts';

/** The HTTP router's own figures, in the stats document as `http_router`. */
export class HttpRouterStats implements StatsSection {
  readonly statsName = 'http_router';
  private readonly pool: HttpNodePool;
  requests = 0;
  /** requests served on an already used client connection */
  keepaliveRequests = 0;
  /** open websocket tunnels */
  websockets = 0;
  redirects = 0;

  constructor(pool: HttpNodePool) {
    this.pool = pool;
  }

  statsJson(): unknown {
    return {
      requests: this.requests,
      keepalive_requests: this.keepaliveRequests,
      websockets: this.websockets,
      redirects: this.redirects,
      node_pool_reuses: this.pool.reuses,
      node_pool_idle: this.pool.size,
    };
  }
}

export interface ListenerFacts {
  /** SERVER_PORT (spec §2 #9) */
  serverPort: string;
  /** `http-to-https` PORT (null: none); undefined: a normal listener */
  redirectPort: string | null | undefined;
}

export class HttpRouterShared {
  readonly settings: HttpRouterSettings;
  readonly pool: HttpNodePool;
  readonly stats: HttpRouterStats;
  /** one coarse timer for every connect timeout and node-exchange inactivity timeout */
  readonly sweep: IdleSweep;
  /** sweep ticks for `http-timeout` (0 = no timeout) */
  readonly idleTicks: number;
  /** this router's Via received-by token (via.ts), random per start */
  readonly viaToken = makeViaToken();
  /** the process's request log (`--log-requests`), or null */
  readonly requestLog: RequestLog | null;
  private readonly listeners = new WeakMap<Listener, ListenerFacts>();
  /** how many listeners come before the `http-to-https` ones (`http`, then `https`/`https2`) */
  private readonly redirectFrom: number;

  constructor(
    settings: HttpRouterSettings,
    pool: HttpNodePool,
    stats: HttpRouterStats,
    requestLog: RequestLog | null,
    redirectFrom: number,
  ) {
    this.settings = settings;
    this.redirectFrom = redirectFrom;
    this.requestLog = requestLog;
    this.pool = pool;
    this.stats = stats;
    this.sweep = new IdleSweep(IdleSweep.intervalFor(settings.timeoutMs));
    this.idleTicks = settings.timeoutMs > 0 ? this.sweep.ticksFor(settings.timeoutMs) : 0;
  }

  /**
   * The facts of listener `l` of `all` (the router's listeners, bound in httpListenAddresses'
   * order, the redirect listeners from `redirectFrom` on: by position, since two listeners
   * may have been given the same text, `127.0.0.1:0`).
   */
  listenerFacts(l: Listener, all: readonly Listener[]): ListenerFacts {
    let f = this.listeners.get(l);
    if (f === undefined) {
      const r = this.settings.redirects[all.indexOf(l) - this.redirectFrom];
      f = { serverPort: serverPortOf(l.name), redirectPort: r === undefined ? undefined : r[1] };
      this.listeners.set(l, f);
    }
    return f;
  }
}
