/**
 * The client side of an HTTP router connection (spec: http-router.md), what every request on
 * it shares: the socket's events dispatched by state, the request head read (bounded,
 * absolute headers deadline, one timer), keepalive (§7: the next request read after a
 * response), draining on reload/stop, and the endings (error page, redirect, close).
 * What one request does between its head and its response (key, admission, routing, the
 * exchange with the node) is in connection.ts.
 *
 * Every early end is one log line and one counter; clients get an error page (400, 404,
 * 413, 431, 502, 503, 504 + `Connection: close`) unless `http-silent-errors`.
 */
import type { Socket } from 'node:net';
import type { ConnectionLogLevel } from '../connection-log.ts';
import type { Listener } from '../corerouter/listener.ts';
import { PeerInfo } from '../corerouter/peer-info.ts';
import { receivedProxySource } from '../corerouter/proxy-intake.ts';
import { type CoreRouter, DRAIN, type DrainableSession } from '../corerouter/router.ts';
import type { StoredBodyOwner } from '../corerouter/stored-body.ts';
import type { UwrErrorCode } from '../errors.ts';
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import { HttpRequestHeadReader } from '../protocol/http-request-head-reader.ts';
import { RequestLine } from '../request-line.ts';
import { BodyStage } from './body-stage.ts';
import { ClientClose } from './client-close.ts';
import { ClientTimer } from './client-timer.ts';
import { errorResponse, logLevelOf, type RouterErrorStatus } from './error-response.ts';
import type { HttpsSession } from './https.ts';
import type { NodeExchange } from './node-exchange.ts';
import { beginHttpLine, endHttpLine } from './request-record.ts';
import type { KeepaliveRequestFacts } from './response-head.ts';
import type { HttpRouterShared } from './router-state.ts';

/** reading a request head (or idle between requests) */
export const S_HEAD = 0;
/** mapping + connecting */
export const S_ROUTING = 1;
/** body to the node, response to the client */
export const S_EXCHANGE = 2;
/** sockets joined (raw modes) */
export const S_TUNNEL = 3;
/** answering an error/redirect, then closing */
export const S_CLOSING = 4;
export const S_DONE = 5;
/** storing a chunked body before routing (stored-body.ts) */
export const S_STORING = 6;

/**
 * While the router drains (reload, stop), how long a keepalive connection may stay idle: its
 * next request is still answered (with `Connection: close`), a silent one is closed.
 */
export const DRAIN_IDLE_MS = 1000;
export const EMPTY = Buffer.alloc(0);

export abstract class HttpClientConnection implements StoredBodyOwner, DrainableSession {
  readonly core: CoreRouter;
  readonly client: Socket;
  readonly shared: HttpRouterShared;
  readonly info: PeerInfo;
  readonly serverPort: string;
  /** the TLS side of an HTTPS connection (https.ts); null for plain HTTP */
  readonly https: HttpsSession | null;
  /** `http-to-https` listener: the PORT for Location (null = none); undefined = normal */
  protected readonly redirectPort: string | null | undefined;
  private readonly reader: HttpRequestHeadReader;
  protected state = S_HEAD;
  /** head deadline, keepalive idle time, stored-body inactivity, linger (one timer) */
  protected readonly timer: ClientTimer;
  private readonly close: ClientClose;
  /** the headers deadline runs (armed at accept or at the first byte after keepalive) */
  private headStarted = true;
  head: HttpRequestHead | null = null;
  rest: Buffer = EMPTY;
  protected key = '';
  /** the node of the current request, once connected (log lines) */
  protected node = '';
  facts: KeepaliveRequestFacts | null = null;
  raw = false;
  websocket = false;
  /** the first byte was checked for a self-connection (corerouter OutgoingEndpoints) */
  private selfChecked = false;
  /** created at the first request that reaches a node, reused for the next ones */
  protected exchange: NodeExchange | null = null;
  /** client bytes read past the current request: the start of the next one */
  protected pending: Buffer | null = null;
  protected requests = 0;
  protected clientEnded = false;
  /** the owed `100 Continue` and a stored chunked body */
  protected readonly body: BodyStage;
  /** this connection's request-log lines (null: no request log) */
  protected readonly record: RequestLine | null;

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
    // a trusted peer's PROXY header (corerouter/proxy-intake.ts) names the client for the
    // whole connection
    const source = receivedProxySource(client);
    if (source !== null) {
      this.info.address = source.address;
      this.info.port = source.port;
    }
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

  protected readonly onClientData = (chunk: Buffer): void => {
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

  protected readonly onClientEnd = (): void => {
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
    this.cancelRoute();
    if (this.state !== S_TUNNEL) this.exchange?.drop();
    this.body.drop();
    this.state = S_DONE;
  };

  // ---- what a request does (connection.ts) --------------------------------------------

  /** A whole request head was read: route it (or answer it). */
  protected abstract request(head: HttpRequestHead, rest: Buffer): void;
  /** The client is gone: stop looking for a node. */
  protected abstract cancelRoute(): void;
  abstract bodyStored(size: number, surplus: Buffer | null): void;
  abstract bodyStoreFailed(status: 400 | 413 | 500, code: string, why: string): void;

  // ---- ExchangeOwner: client bytes past the current request ----------------------------

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
  protected nextRequest(): void {
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
  protected closeClient(): void {
    this.state = S_DONE;
    this.close.afterResponse();
  }

  /** Answers with a fixed response (error page, redirect, Expect 413) and closes. */
  protected answer(response: Buffer): void {
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
  protected endRecord(status: number, code: string): void {
    if (this.record) endHttpLine(this.record, this.client, this.info, this.key, status, code, this.exchange);
  }
}
