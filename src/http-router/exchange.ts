/**
 * What a connected node gets first: the uwsgi packet (spec: http-router.md §2) or, for an
 * HTTP node, an HTTP/1.1 head with X-Forwarded-* (forward-head.ts); then the body pump and
 * the response relay start, or — raw modes (§6) — the sockets are joined.
 * Also the per-router state every connection shares (settings, node pool, stats).
 */
import { IdleSweep } from '../corerouter/idle-sweep.ts';
import type { Listener } from '../corerouter/listener.ts';
import type { StatsSection } from '../corerouter/types.ts';
import type { HttpConnection } from './connection.ts';
import { buildForwardHead } from './forward-head.ts';
import type { HttpNodePool } from './http-node.ts';
import { RequestBodyPump } from './request-body.ts';
import { buildRequestPacket, resolveModifiers, serverPortOf } from './request-vars.ts';
import { ResponseRelay } from './response-relay.ts';
import type { HttpRouterSettings } from './settings.ts';

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

export class ExchangeShared {
  readonly settings: HttpRouterSettings;
  readonly pool: HttpNodePool;
  readonly stats: HttpRouterStats;
  /** one coarse timer for every connect timeout and node-exchange inactivity timeout */
  readonly sweep: IdleSweep;
  /** sweep ticks for `http-timeout` (0 = no timeout) */
  readonly idleTicks: number;
  private readonly listeners = new WeakMap<Listener, ListenerFacts>();

  constructor(settings: HttpRouterSettings, pool: HttpNodePool, stats: HttpRouterStats) {
    this.settings = settings;
    this.pool = pool;
    this.stats = stats;
    this.sweep = new IdleSweep(IdleSweep.intervalFor(settings.timeoutMs));
    this.idleTicks = settings.timeoutMs > 0 ? this.sweep.ticksFor(settings.timeoutMs) : 0;
  }

  listenerFacts(l: Listener): ListenerFacts {
    let f = this.listeners.get(l);
    if (f === undefined) {
      f = { serverPort: serverPortOf(l.name), redirectPort: this.settings.redirects.get(l.configured) };
      this.listeners.set(l, f);
    }
    return f;
  }
}

function ensureParts(c: HttpConnection): void {
  if (c.relay === null) {
    const s = c.shared.settings;
    c.relay = new ResponseRelay(c.client, c, { autoChunked: s.autoChunked, autoGzip: s.autoGzip });
    c.pump = new RequestBodyPump(c.client, c, s.maxBody);
  }
}

/** Sends `first` and the body, and starts relaying the response. */
function startExchange(c: HttpConnection, first: Buffer, bodyLength: number, httpNode: boolean): void {
  const backend = c.backend!;
  c.headBytes = first.length;
  c.attachBackend(backend);
  c.relay!.begin(backend, c.facts!, httpNode);
  // head and the first body bytes in one write; `rest` stays until the response is done
  // (a stale pooled HTTP-node connection is retried with the same bytes)
  backend.cork();
  backend.write(first);
  c.pump!.begin(backend, bodyLength, c.rest);
  backend.uncork();
}

export function sendToUwsgiNode(c: HttpConnection): void {
  ensureParts(c);
  const s = c.shared.settings;
  const head = c.head!;
  const lease = c.lease!;
  const mods = resolveModifiers(lease.modifier1, lease.modifier2, s.modifier1, s.modifier2);
  const r = buildRequestPacket(head, {
    serverName: s.hostname,
    serverPort: c.serverPort,
    remoteAddr: c.info.address,
    remotePort: c.info.port,
    serverNameAsHttpHost: s.serverNameAsHttpHost,
    extraVars: s.extraVars,
    modifier1: mods.modifier1,
    modifier2: mods.modifier2,
  });
  if (!r.ok) {
    c.fail(431, r.code, `uwsgi vars of ${r.size} bytes exceed ${r.limit}`);
    return;
  }
  // spec §2: modifier1 123 turns the session raw
  if (c.raw || mods.raw) {
    c.tunnel(r.packet);
    return;
  }
  // spec §5: exactly Content-Length bytes; `http-chunked-input` streams the chunked body
  // still chunked (until its end); other bodies without a length are not forwarded
  let length = head.contentLength;
  if (length < 0) length = head.chunked && s.chunkedInput ? -1 : 0;
  startExchange(c, r.packet, length, false);
}

export function sendToHttpNode(c: HttpConnection): void {
  ensureParts(c);
  const s = c.shared.settings;
  const head = c.head!;
  const peer = c.client.remoteAddress ?? '';
  const fwd = buildForwardHead(head, {
    clientAddress: c.info.address,
    https: false,
    trusted: s.trusted.size > 0 && s.trusted.has(peer),
    websocket: c.websocket,
  });
  if (c.raw) {
    c.tunnel(fwd);
    return;
  }
  if (head.transferEncoding !== null && !head.chunked) {
    // RFC 9112 §6.3: a request body without a final chunked coding has no knowable end
    c.fail(400, 'UWR_ERR_BAD_REQUEST', 'request Transfer-Encoding does not end in chunked');
    return;
  }
  const length = head.contentLength >= 0 ? head.contentLength : head.chunked ? -1 : 0;
  startExchange(c, fwd, length, true);
}
