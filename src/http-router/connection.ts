/**
 * One client connection of the HTTP router (spec: http-router.md): read a request head
 * (bounded, absolute headers deadline), find the key (Host, else the hostname, §4), connect
 * to a node through the corerouter (retries, fallbacks), send the uwsgi packet (§2) or an
 * HTTP/1.1 head (HTTP nodes), stream the body (request-body.ts), relay the response
 * (response-relay.ts), then close or — keepalive (§7) — read the next request.
 * Raw modes (§6: websockets, `http-raw-body`, SOURCE, modifier1 123) join the sockets.
 *
 * Every early end is one log line and one counter; clients get an error page (400, 404,
 * 413, 431, 502, 503, 504 + `Connection: close`) unless `http-silent-errors`.
 */
import type { Socket } from 'node:net';
import type { ConnectionLogLevel } from '../connection-log.ts';
import type { Listener } from '../corerouter/listener.ts';
import { PeerInfo } from '../corerouter/peer-info.ts';
import { type CoreRouter, DRAIN, type DrainableSession } from '../corerouter/router.ts';
import type { NodeLease } from '../corerouter/types.ts';
import type { UwrErrorCode } from '../errors.ts';
import { normalizeHostKey } from '../protocol/host-key.ts';
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import { HttpRequestHeadReader } from '../protocol/http-request-head-reader.ts';
import { RequestLine } from '../request-line.ts';
import { BodyStage } from './body-stage.ts';
import { ClientClose } from './client-close.ts';
import { ClientTimer } from './client-timer.ts';
import {
  CONTINUE_100,
  EXPECT_TOO_LARGE_413,
  errorResponse,
  logLevelOf,
  type RouterErrorStatus,
  redirectToHttps,
} from './error-response.ts';
import type { HttpsSession } from './https.ts';
import { type ExchangeOwner, NodeExchange } from './node-exchange.ts';
import { NodeRoute, type RouteOwner } from './node-route.ts';
import * as admission from './request-admission.ts';
import { beginHttpLine, endHttpLine } from './request-record.ts';
import type { KeepaliveRequestFacts } from './response-head.ts';
import type { HttpRouterShared } from './router-state.ts';
import { headWithStoredBody, type StoredBodyOwner, type StoredRequestBody } from './stored-body.ts';
import { viaLoop } from './via.ts';
import { isWebSocketUpgrade } from './websocket.ts';

/** reading a request head (or idle between requests) */
const S_HEAD = 0;
/** mapping + connecting */
const S_ROUTING = 1;
/** body to the node, response to the client */
const S_EXCHANGE = 2;
/** sockets joined (raw modes) */
const S_TUNNEL = 3;
/** answering an error/redirect, then closing */
const S_CLOSING = 4;
const S_DONE = 5;
/** storing a chunked body before routing (stored-body.ts) */
const S_STORING = 6;

/**
 * While the router drains (reload, stop), how long a keepalive connection may stay idle: its
 * next request is still answered (with `Connection: close`), a silent one is closed.
 */
const DRAIN_IDLE_MS = 1000;
const EMPTY = Buffer.alloc(0);

export class HttpConnection implements RouteOwner, ExchangeOwner, StoredBodyOwner, DrainableSession {
  readonly core: CoreRouter;
  readonly client: Socket;
  readonly shared: HttpRouterShared;
  readonly info: PeerInfo;
  readonly serverPort: string;
  /** the TLS side of an HTTPS connection (https.ts); null for plain HTTP */
  readonly https: HttpsSession | null;
  /** `http-to-https` listener: the PORT for Location (null = none); undefined = normal */
  private readonly redirectPort: string | null | undefined;
  private readonly reader: HttpRequestHeadReader;
  private state = S_HEAD;
  /** head deadline, keepalive idle time, stored-body inactivity, linger (one timer) */
  private readonly timer: ClientTimer;
  private readonly close: ClientClose;
  /** the headers deadline runs (armed at accept or at the first byte after keepalive) */
  private headStarted = true;
  head: HttpRequestHead | null = null;
  rest: Buffer = EMPTY;
  private key = '';
  /** the node of the current request, once connected (log lines) */
  private node = '';
  facts: KeepaliveRequestFacts | null = null;
  raw = false;
  websocket = false;
  /** the first byte was checked for a self-connection (corerouter OutgoingEndpoints) */
  private selfChecked = false;
  private readonly route = new NodeRoute(this);
  /** created at the first request that reaches a node, reused for the next ones */
  private exchange: NodeExchange | null = null;
  /** client bytes read past the current request: the start of the next one */
  private pending: Buffer | null = null;
  private requests = 0;
  private clientEnded = false;
  /** the owed `100 Continue` and a stored chunked body */
  private readonly body: BodyStage;
  /** this connection's request-log lines (null: no request log) */
  private readonly record: RequestLine | null;

  constructor(
    client: Socket,
    listener: Listener,
    core: CoreRouter,
    shared: HttpRouterShared,
    https: HttpsSession | null,
  ) {
    this.core = core;
    this.client = client;
    this.shared = shared;
    this.https = https;
    // the TCP socket's peer (a TLS socket over a socket it did not open only forwards it)
    this.info = new PeerInfo(https?.raw ?? client);
    const facts = shared.listenerFacts(listener, core.listeners);
    this.serverPort = facts.serverPort;
    this.redirectPort = facts.redirectPort;
    this.reader = new HttpRequestHeadReader(shared.settings.head);
    client.on('data', this.onClientData);
    client.on('end', this.onClientEnd);
    client.on('error', this.onClientError);
    client.on('close', this.onClientClose);
    client.on('drain', this.onClientDrain);
    this.body = new BodyStage(client, this, shared.settings);
    this.record = shared.requestLog ? new RequestLine(shared.requestLog, 'http') : null;
    this.timer = new ClientTimer(this.onHeadTimeout);
    this.close = new ClientClose(client, this.timer, https !== null);
    (client as Socket & { [DRAIN]?: DrainableSession })[DRAIN] = this;
    this.timer.arm(shared.settings.headersTimeoutMs);
  }

  /** The router stopped accepting: this connection ends after its current request. */
  drain(): void {
    // a request in progress: its answer says Connection: close (unless its head went out)
    if (this.facts) this.facts.keepaliveEnabled = false;
    // an idle keepalive connection gets a short while for a request already on its way
    if (this.state === S_HEAD && this.requests > 0 && this.reader.buffered === 0)
      this.timer.arm(DRAIN_IDLE_MS);
  }

  /** One log line (rate-limited per code, connection-log.ts) and one counter. */
  note(level: ConnectionLogLevel, code: string, why: string): void {
    this.core.count(code);
    this.record?.noted(code);
    this.core.connectionLog.about(level, code, this.info, this.key, this.node, why);
  }

  // ---- client side -------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    const state = this.state;
    if (state === S_HEAD) {
      if (!this.selfChecked) {
        this.selfChecked = true;
        if (this.core.outgoing.isOwn(this.https?.raw ?? this.client)) {
          this.client.pause();
          this.fail(508, 'UWR_ERR_LOOP_DETECTED', 'request loop: the router connected to its own listener');
          return;
        }
      }
      this.headData(chunk);
    } else if (state === S_EXCHANGE && this.exchange?.uploading) {
      this.exchange.clientData(chunk);
    } else if (state === S_STORING) {
      // http-timeout is the inactivity limit while a body is stored
      this.timer.refresh();
      this.body.stored!.push(chunk);
    } else if (state === S_ROUTING || state === S_EXCHANGE) {
      // read before the pause took effect: part of what comes next, kept in order
      this.client.pause();
      this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    }
    // S_CLOSING: discarded while the error answer drains
  };

  private headData(chunk: Buffer): void {
    const r = this.reader.push(chunk);
    if (r.state === 'need-more') {
      if (!this.headStarted) {
        // spec: the headers timeout runs from the first byte of a head, never re-armed per byte
        this.headStarted = true;
        this.timer.arm(this.shared.settings.headersTimeoutMs);
      }
      return;
    }
    this.client.pause();
    if (r.state === 'error') {
      this.fail(r.status, r.code, `bad request head (${r.reason})`);
      return;
    }
    this.request(r.head, r.rest);
  }

  private readonly onHeadTimeout = (): void => {
    if (this.state === S_STORING) {
      this.note('info', 'UWR_ERR_TIMEOUT', 'request body stalled past http-timeout while stored: closing');
      this.state = S_DONE;
      this.client.destroy();
      return;
    }
    if (this.state !== S_HEAD) return;
    if (this.reader.buffered > 0 || this.requests === 0) {
      this.note('info', 'UWR_ERR_TIMEOUT', 'timeout reading the request head: closing');
    }
    this.state = S_DONE;
    this.client.destroy();
  };

  private readonly onClientDrain = (): void => {
    this.exchange?.relay.onClientDrain();
  };

  private readonly onClientError = (): void => {
    // ECONNRESET and friends: the close handler does the teardown
  };

  private readonly onClientEnd = (): void => {
    const state = this.state;
    if (state === S_EXCHANGE && !this.exchange?.uploading) {
      // half-close after a complete request: answer it, then close (no keepalive)
      this.clientEnded = true;
      return;
    }
    if (state === S_TUNNEL) return;
    if (
      state === S_EXCHANGE ||
      state === S_ROUTING ||
      state === S_STORING ||
      (state === S_HEAD && this.reader.buffered > 0)
    ) {
      this.note('info', 'UWR_ERR_CLIENT_CLOSED', 'client closed mid-request');
    }
    this.client.destroy();
  };

  private readonly onClientClose = (): void => {
    // a request cut off here (a tunnel ends here normally)
    if (this.record?.active) this.endRecord(0, this.state === S_TUNNEL ? '' : 'UWR_ERR_CLIENT_CLOSED');
    this.timer.disarm();
    this.route.cancel();
    if (this.state !== S_TUNNEL) this.exchange?.drop();
    this.body.drop();
    this.state = S_DONE;
  };

  // ---- one request -------------------------------------------------------------------

  private request(head: HttpRequestHead, rest: Buffer): void {
    const s = this.shared.settings;
    this.state = S_ROUTING;
    this.requests++;
    this.node = '';
    if (this.record) beginHttpLine(this.record, head, this.client, this.info);
    if (this.requests > 1) this.shared.stats.keepaliveRequests++;
    this.shared.stats.requests++;
    this.head = head;
    this.rest = rest;
    this.clientEnded = false;
    const loop = viaLoop(head.headers, this.shared.viaToken);
    if (loop !== null) {
      this.fail(508, 'UWR_ERR_LOOP_DETECTED', `request loop: ${loop}`);
      return;
    }
    const proxy = head.proxy;
    if (proxy !== null && proxy.protocol !== 'UNKNOWN') {
      this.info.address = proxy.srcAddress;
      this.info.port = proxy.srcPort;
    }
    // spec §4: Host (≤ 255, checked by the head reader; an absolute-form target's authority
    // replaced it) > the TLS server name > hostname; compared as every web server does: A-Z
    // folded, trailing dot ignored (subscription keys are normalised the same way)
    const host = head.host ?? this.https?.serverName ?? s.hostname;
    this.key = normalizeHostKey(host);
    if (this.redirectPort !== undefined) {
      this.shared.stats.redirects++;
      this.answer(redirectToHttps(host, this.redirectPort, head.uri));
      this.endRecord(301, '');
      return;
    }
    // RFC 9110 §7.8: an HTTP/1.0 request's Upgrade is ignored; a websocket is held, not raw
    this.websocket = s.websockets && head.protocol === 'HTTP/1.1' && isWebSocketUpgrade(head.headers);
    this.raw = s.rawBody || (s.manageSource && head.method === 'SOURCE');
    const length = head.contentLength;
    const verdict = admission.admitRequest(head, s, this.raw);
    if (verdict === admission.REFUSE_BODY_TOO_LARGE) {
      this.fail(413, 'UWR_ERR_BODY_TOO_LARGE', `request body of ${length} bytes exceeds http-max-body`);
      return;
    }
    if (verdict === admission.REFUSE_EXPECTED_BODY) {
      this.note('info', 'UWR_ERR_BODY_TOO_LARGE', `Expect: 100-continue body of ${length} bytes refused`);
      this.answer(EXPECT_TOO_LARGE_413);
      this.endRecord(413, '');
      return;
    }
    if (verdict & admission.CONTINUE_NOW) this.client.write(CONTINUE_100);
    this.body.expect((verdict & admission.CONTINUE_WHEN_WANTED) !== 0);
    this.facts = admission.keepaliveFacts(head, s, this.raw, this.websocket);
    if (this.core.draining) this.facts.keepaliveEnabled = false;
    if (verdict & admission.STORE_BODY) this.storeBody();
    else this.startRoute();
  }

  /** spec §5 difference: de-chunk and store the body, then route with its length. */
  private storeBody(): void {
    this.state = S_STORING;
    this.timer.arm(this.shared.settings.timeoutMs);
    const first = this.rest;
    this.rest = EMPTY;
    this.body.store(first);
  }

  bodyStored(size: number, surplus: Buffer | null): void {
    if (this.state !== S_STORING) return;
    if (surplus !== null) this.keepPending(surplus);
    this.head = headWithStoredBody(this.head!, size);
    // the router read the chunked body to its end and the node gets a Content-Length: the
    // client's framing is known, so its Transfer-Encoding no longer forbids keepalive
    // (uWSGI's rule, spec §7, is for bodies it cannot frame)
    this.facts!.transferEncoding = false;
    this.state = S_ROUTING;
    this.startRoute();
  }

  private startRoute(): void {
    this.record?.routing();
    this.route.start(this.key, false);
  }

  bodyStoreFailed(status: 400 | 413 | 500, code: string, why: string): void {
    if (this.state === S_STORING) this.fail(status, code, why);
  }

  get storedBody(): StoredRequestBody | null {
    return this.body.stored;
  }

  sendContinue(): void {
    this.body.sendContinue(this.head!.contentLength, this.rest.length);
  }

  // ---- RouteOwner --------------------------------------------------------------------

  routed(backend: Socket, lease: NodeLease, reused: boolean): void {
    if (this.state !== S_ROUTING || this.client.destroyed) {
      backend.destroy();
      lease.release(0, 0);
      return;
    }
    this.node = lease.address.name;
    this.record?.connected(this.node);
    this.state = S_EXCHANGE;
    if (this.exchange === null) this.exchange = new NodeExchange(this);
    this.exchange.begin(backend, lease, reused);
  }

  // ---- ExchangeOwner -----------------------------------------------------------------

  exchangeDone(keepalive: boolean, bodyComplete: boolean): void {
    this.endRecord(0, '');
    this.body.drop();
    if (keepalive && bodyComplete && !this.clientEnded && !this.client.destroyed) this.nextRequest();
    else if (bodyComplete) this.closeClient();
    // the node answered before the whole body came: close without a reset losing the answer
    else this.answer(EMPTY);
  }

  retryFresh(rederived: number): void {
    // the surplus the first attempt took from `rest` comes again from `rest`; what was
    // kept otherwise (a stored body's surplus, later reads) is the next request: kept
    const p = this.pending;
    this.pending = p === null || p.length <= rederived ? null : p.subarray(rederived);
    this.state = S_ROUTING;
    this.client.pause();
    this.route.start(this.key, true);
  }

  enterTunnel(): void {
    this.state = S_TUNNEL;
    this.client.removeListener('data', this.onClientData);
    this.client.removeListener('end', this.onClientEnd);
  }

  keepPending(surplus: Buffer): void {
    this.pending = this.pending ? Buffer.concat([surplus, this.pending]) : surplus;
  }

  takePending(): Buffer | null {
    const p = this.pending;
    this.pending = null;
    return p;
  }

  // ---- endings -----------------------------------------------------------------------

  /** spec §7: re-arm reading the client for the next request. */
  private nextRequest(): void {
    this.state = S_HEAD;
    this.head = null;
    this.rest = EMPTY;
    this.facts = null;
    this.reader.reset();
    this.key = '';
    this.node = '';
    this.headStarted = false;
    this.timer.arm(this.core.draining ? DRAIN_IDLE_MS : this.shared.settings.keepaliveIdleMs);
    const early = this.pending;
    this.pending = null;
    if (early) this.headData(early);
    if (this.state === S_HEAD) this.client.resume();
  }

  /** The response went out and the connection ends. */
  private closeClient(): void {
    this.state = S_DONE;
    this.close.afterResponse();
  }

  /** Answers with a fixed response (error page, redirect, Expect 413) and closes. */
  private answer(response: Buffer): void {
    this.state = S_CLOSING;
    this.close.answer(response);
  }

  /** One log line, one counter, the error page (or uWSGI's silent close). */
  fail(status: RouterErrorStatus, code: UwrErrorCode | string, why: string, page?: Buffer): void {
    // a head refused before it was whole is a request of its own in the request log
    if (this.record !== null && !this.record.active) beginHttpLine(this.record, null, this.client, this.info);
    this.note(logLevelOf(status), code, `${why}: ${status}`);
    this.endRecord(status, code);
    this.exchange?.drop();
    this.body.drop();
    if (this.shared.settings.silentErrors) {
      this.state = S_DONE;
      this.client.destroy();
      return;
    }
    this.answer(page ?? errorResponse(status, code));
  }

  /** The request's request-log line (once; no request log: nothing). */
  private endRecord(status: number, code: string): void {
    if (this.record) endHttpLine(this.record, this.client, this.info, this.key, status, code, this.exchange);
  }
}
