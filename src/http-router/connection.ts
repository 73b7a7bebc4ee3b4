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
import { BackendAttempt, type ConnectCallbacks, type GiveUpCode } from '../corerouter/connect.ts';
import type { Listener } from '../corerouter/listener.ts';
import { PeerInfo } from '../corerouter/peer-info.ts';
import { type CoreRouter, DRAIN, type DrainableSession } from '../corerouter/router.ts';
import type { NodeLease } from '../corerouter/types.ts';
import type { UwrErrorCode } from '../errors.ts';
import { normalizeHostKey } from '../protocol/host-key.ts';
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import { HttpRequestHeadReader } from '../protocol/http-request-head-reader.ts';
import {
  CONTINUE_100,
  EXPECT_TOO_LARGE_413,
  errorResponse,
  type RouterErrorStatus,
  redirectToHttps,
  statusForError,
} from './error-response.ts';
import { type ExchangeOwner, NodeExchange } from './node-exchange.ts';
import * as admission from './request-admission.ts';
import type { KeepaliveRequestFacts } from './response-head.ts';
import type { HttpRouterShared } from './router-state.ts';
import { headWithStoredBody, type StoredBodyOwner, StoredRequestBody } from './stored-body.ts';
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

/** How long an error answer waits for the client to close before the socket is dropped. */
const LINGER_MS = 2000;
/**
 * While the router drains (reload, stop), how long a keepalive connection may stay idle: its
 * next request is still answered (with `Connection: close`), a silent one is closed.
 */
const DRAIN_IDLE_MS = 1000;
const EMPTY = Buffer.alloc(0);

export class HttpConnection implements ConnectCallbacks, ExchangeOwner, StoredBodyOwner, DrainableSession {
  readonly core: CoreRouter;
  readonly client: Socket;
  readonly shared: HttpRouterShared;
  readonly info: PeerInfo;
  readonly serverPort: string;
  /** `http-to-https` listener: the PORT for Location (null = none); undefined = normal */
  private readonly redirectPort: string | null | undefined;
  private readonly reader: HttpRequestHeadReader;
  private state = S_HEAD;
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  /** the headers deadline runs (armed at accept or at the first byte after keepalive) */
  private headStarted = true;
  head: HttpRequestHead | null = null;
  rest: Buffer = EMPTY;
  private key = '';
  facts: KeepaliveRequestFacts | null = null;
  raw = false;
  websocket = false;
  /** the first byte was checked for a self-connection (corerouter OutgoingEndpoints) */
  private selfChecked = false;
  private attempt: BackendAttempt | null = null;
  /** the next attempt must not take a pooled HTTP-node connection (a stale one failed) */
  private freshOnly = false;
  private reused = false;
  /** created at the first request that reaches a node, reused for the next ones */
  private exchange: NodeExchange | null = null;
  /** client bytes read past the current request: the start of the next one */
  private pending: Buffer | null = null;
  private requests = 0;
  private clientEnded = false;
  /** a chunked body de-chunked before routing (null: streamed, or none) */
  storedBody: StoredRequestBody | null = null;
  /** `Expect: 100-continue` still to be answered when the body starts going to a uwsgi node */
  private continueDue = false;

  constructor(client: Socket, listener: Listener, core: CoreRouter, shared: HttpRouterShared) {
    this.core = core;
    this.client = client;
    this.shared = shared;
    this.info = new PeerInfo(client);
    const facts = shared.listenerFacts(listener);
    this.serverPort = facts.serverPort;
    this.redirectPort = facts.redirectPort;
    this.reader = new HttpRequestHeadReader(shared.settings.head);
    client.on('data', this.onClientData);
    client.on('end', this.onClientEnd);
    client.on('error', this.onClientError);
    client.on('close', this.onClientClose);
    client.on('drain', this.onClientDrain);
    (client as Socket & { [DRAIN]?: DrainableSession })[DRAIN] = this;
    this.arm(shared.settings.headersTimeoutMs);
  }

  /** The router stopped accepting: this connection ends after its current request. */
  drain(): void {
    // a request in progress: its answer says Connection: close (unless its head went out)
    if (this.facts) this.facts.keepaliveEnabled = false;
    // an idle keepalive connection gets a short while for a request already on its way
    if (this.state === S_HEAD && this.requests > 0 && this.reader.buffered === 0) this.arm(DRAIN_IDLE_MS);
  }

  private where(): string {
    const k = this.key ? `key: ${this.key} ` : '';
    return `[${this.core.logPrefix} ${k}client_addr: ${this.info.address} client_port: ${this.info.port}]`;
  }

  note(code: string, why: string): void {
    this.core.count(code);
    this.core.log.info({ code }, `${this.where()} ${why}`);
  }

  /**
   * One timer per connection for the head deadline and the keepalive idle time, refreshed
   * rather than re-created per request; a stale expiry outside S_HEAD is ignored.
   */
  private arm(ms: number): void {
    if (this.timer !== null && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = ms > 0 ? setTimeout(this.onHeadTimeout, ms) : null;
  }

  private disarm(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.timerMs = -1;
    }
  }

  // ---- client side -------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    const state = this.state;
    if (state === S_HEAD) {
      if (!this.selfChecked) {
        this.selfChecked = true;
        if (this.core.outgoing.isOwn(this.client)) {
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
      this.timer?.refresh();
      this.storedBody!.push(chunk);
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
        this.arm(this.shared.settings.headersTimeoutMs);
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
      this.note('UWR_ERR_TIMEOUT', 'request body stalled past http-timeout while stored: closing');
      this.state = S_DONE;
      this.client.destroy();
      return;
    }
    if (this.state !== S_HEAD) return;
    if (this.reader.buffered > 0 || this.requests === 0) {
      this.note('UWR_ERR_TIMEOUT', 'timeout reading the request head: closing');
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
      this.note('UWR_ERR_CLIENT_CLOSED', 'client closed mid-request');
    }
    this.client.destroy();
  };

  private readonly onClientClose = (): void => {
    this.disarm();
    if (this.attempt) {
      this.attempt.cancel();
      this.attempt = null;
    }
    if (this.state !== S_TUNNEL) this.exchange?.drop();
    this.dropStoredBody();
    this.state = S_DONE;
  };

  private readonly onClientFinish = (): void => {
    if (this.state === S_CLOSING) {
      // the answer is out: give the client a moment to read it and close first, so unread
      // request bytes do not turn our close into a reset that loses the answer
      this.disarm();
      this.timer = setTimeout(this.destroyClient, LINGER_MS);
      this.client.resume();
      return;
    }
    this.client.destroy();
  };

  private readonly destroyClient = (): void => {
    this.timer = null;
    this.client.destroy();
  };

  // ---- one request -------------------------------------------------------------------

  private request(head: HttpRequestHead, rest: Buffer): void {
    const s = this.shared.settings;
    this.state = S_ROUTING;
    this.requests++;
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
    // replaced it) > hostname; compared as every web server does: A-Z folded, trailing dot
    // ignored (subscription keys are normalised the same way)
    const host = head.host ?? s.hostname;
    this.key = normalizeHostKey(host);
    if (this.redirectPort !== undefined) {
      this.shared.stats.redirects++;
      this.answer(redirectToHttps(host, this.redirectPort, head.uri));
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
      this.note('UWR_ERR_BODY_TOO_LARGE', `Expect: 100-continue body of ${length} bytes refused`);
      this.answer(EXPECT_TOO_LARGE_413);
      return;
    }
    if (verdict & admission.CONTINUE_NOW) this.client.write(CONTINUE_100);
    this.continueDue = (verdict & admission.CONTINUE_WHEN_WANTED) !== 0;
    this.facts = {
      keepaliveEnabled: s.keepalive && !this.core.draining,
      protocol: head.protocol,
      method: head.method,
      connectionClose: head.connectionClose,
      connectionUpgrade: head.connectionUpgrade,
      transferEncoding: head.transferEncoding !== null,
      raw: this.raw,
      upgrade: this.websocket,
      surplusBody: false,
      acceptGzip: head.acceptGzip,
    };
    this.freshOnly = false;
    if (verdict & admission.STORE_BODY) this.storeBody();
    else this.route();
  }

  /** spec §5 difference: de-chunk and store the body, then route with its length. */
  private storeBody(): void {
    const s = this.shared.settings;
    this.state = S_STORING;
    // the body is wanted now, before any node is chosen
    this.sendContinue();
    this.storedBody = new StoredRequestBody(this.client, this, {
      memoryLimit: s.bodyBufferSize,
      maxBody: s.maxStoredBody,
      dir: s.bodyTempDir,
    });
    this.arm(s.timeoutMs);
    const first = this.rest;
    this.rest = EMPTY;
    this.storedBody.start(first);
  }

  bodyStored(size: number, surplus: Buffer | null): void {
    if (this.state !== S_STORING) return;
    if (surplus !== null) this.keepPending(surplus);
    this.head = headWithStoredBody(this.head!, size);
    this.state = S_ROUTING;
    this.route();
  }

  bodyStoreFailed(status: 400 | 413 | 500, code: string, why: string): void {
    if (this.state === S_STORING) this.fail(status, code, why);
  }

  private dropStoredBody(): void {
    this.storedBody?.discard();
    this.storedBody = null;
  }

  /** Writes the due `100 Continue` (once), unless the whole body already came. */
  sendContinue(): void {
    if (!this.continueDue) return;
    this.continueDue = false;
    const length = this.head!.contentLength;
    if (length >= 0 && this.rest.length >= length) return;
    this.client.write(CONTINUE_100);
  }

  private route(): void {
    this.reused = false;
    this.attempt = new BackendAttempt(this.core, this.key, this.info, this, this.shared.sweep);
    this.attempt.start();
  }

  reuse(lease: NodeLease): Socket | null {
    if (lease.address.proto !== 'http' || this.freshOnly) return null;
    const s = this.shared.pool.take(lease.address);
    if (s) this.reused = true;
    return s;
  }

  connected(backend: Socket, lease: NodeLease): void {
    this.attempt = null;
    if (this.state !== S_ROUTING || this.client.destroyed) {
      backend.destroy();
      lease.release(0, 0);
      return;
    }
    this.state = S_EXCHANGE;
    if (this.exchange === null) this.exchange = new NodeExchange(this);
    this.exchange.begin(backend, lease, this.reused);
  }

  gaveUp(code: GiveUpCode, detail: string): void {
    this.attempt = null;
    if (code === 'UWR_ERR_NO_NODE') {
      // 404: the key was never routable here; 503: it is, but no node is live now
      const m = this.core.mapper;
      const known = m !== null && (m.knows ? m.knows(this.key) : true);
      if (known) this.fail(503, 'UWR_ERR_NO_NODE', `${detail}: no live node`);
      else this.fail(404, 'UWR_ERR_NO_KEY', `${detail}: unknown key`);
      return;
    }
    this.fail(statusForError(code), code, detail);
  }

  // ---- ExchangeOwner -----------------------------------------------------------------

  exchangeDone(keepalive: boolean, bodyComplete: boolean): void {
    this.dropStoredBody();
    if (keepalive && bodyComplete && !this.clientEnded && !this.client.destroyed) this.nextRequest();
    else if (bodyComplete) this.closeClient();
    // the node answered before the whole body came: close without a reset losing the answer
    else this.answer(EMPTY);
  }

  retryFresh(): void {
    this.pending = null;
    this.freshOnly = true;
    this.state = S_ROUTING;
    this.client.pause();
    this.route();
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
    this.headStarted = false;
    this.arm(this.core.draining ? DRAIN_IDLE_MS : this.shared.settings.keepaliveIdleMs);
    const early = this.pending;
    this.pending = null;
    if (early) this.headData(early);
    if (this.state === S_HEAD) this.client.resume();
  }

  /** The response went out and the connection ends. */
  private closeClient(): void {
    this.state = S_DONE;
    const c = this.client;
    if (c.destroyed) return;
    // nothing left to flush or read: one close, no shutdown() first (as uWSGI)
    if (c.writableLength === 0 && c.readableLength === 0) {
      c.destroy();
      return;
    }
    c.once('finish', this.onClientFinish);
    c.end();
  }

  /** Answers with a fixed response (error page, redirect, Expect 413) and closes. */
  private answer(response: Buffer): void {
    this.state = S_CLOSING;
    this.disarm();
    const c = this.client;
    if (c.destroyed) return;
    c.once('finish', this.onClientFinish);
    c.end(response);
  }

  /** One log line, one counter, the error page (or uWSGI's silent close). */
  fail(status: RouterErrorStatus, code: UwrErrorCode | string, why: string, page?: Buffer): void {
    this.note(code, `${why}: ${status}`);
    this.exchange?.drop();
    this.dropStoredBody();
    if (this.shared.settings.silentErrors) {
      this.state = S_DONE;
      this.client.destroy();
      return;
    }
    this.answer(page ?? errorResponse(status, code));
  }
}
