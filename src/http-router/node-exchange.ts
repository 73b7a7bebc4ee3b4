/**
 * One request's exchange with a connected node. What the node gets first: the uwsgi packet
 * (spec: http-router.md §2) or, for an HTTP node, an HTTP/1.1 head with X-Forwarded-*
 * (forward-head.ts); then the body is streamed (request-body.ts) and the response relayed
 * (response-relay.ts), or — raw modes (§6) — the sockets are joined. A websocket upgrade
 * is an ordinary request until the node's head says 101: client bytes after it are held
 * (the connection's `pending`), and only a 101 joins the sockets; any other answer is a
 * normal response and the held bytes are the next request, parsed as such.
 * Node failures map to 502 (closed before answering, invalid response head), 504 (silent
 * past `http-timeout`) or, once the response head went out, a plain close. One object per
 * client connection, reused for each of its requests.
 */
import type { Socket } from 'node:net';
import type { IdleWatched } from '../corerouter/idle-sweep.ts';
import type { StoredBodySink } from '../corerouter/stored-body.ts';
import type { NodeLease } from '../corerouter/types.ts';
import { ChunkReframer } from './chunk-reframer.ts';
import type { ChunkedResult } from './chunked.ts';
import { NODE_BUFFER_SIZE_502, NODE_CLOSED_502, UWSGI_DEFAULT_BUFFER_SIZE } from './error-response.ts';
import type { ExchangeOwner } from './exchange-owner.ts';
import { nodeRequest } from './node-request.ts';
import { joinTunnel } from './node-tunnel.ts';
import { type BodyOwner, type BodySink, RequestBodyPump } from './request-body.ts';
import { type RelayOwner, ResponseRelay } from './response-relay.ts';
import type { HttpRouterShared } from './router-state.ts';

export class NodeExchange implements BodyOwner, RelayOwner, StoredBodySink, IdleWatched {
  private readonly owner: ExchangeOwner;
  private readonly shared: HttpRouterShared;
  readonly pump: RequestBodyPump;
  readonly relay: ResponseRelay;
  /** created at the first chunked body to an HTTP node */
  private reframer: ChunkReframer | null = null;
  /** the request whose `100 Continue` this exchange sent (a retry must not send another) */
  private backend: Socket | null = null;
  private lease: NodeLease | null = null;
  private reused = false;
  private bodyComplete = false;
  /** bytes of packet/head sent to the node before the body */
  private headBytes = 0;
  /** size of the uwsgi vars sent (0 for an HTTP node): a node's buffer-size may refuse them */
  private varsBytes = 0;
  /** client bytes past the body handed to the owner's pending in this exchange */
  private surplusKept = 0;
  /** the body comes from the owner's stored body, not the client */
  private storedSending = false;
  /** IdleWatched (the exchange's inactivity timeout) */
  seenProgress = 0;
  lastTick = 0;
  readonly idleTicks: number;

  constructor(owner: ExchangeOwner) {
    this.owner = owner;
    this.shared = owner.shared;
    const s = owner.shared.settings;
    this.relay = new ResponseRelay(owner.client, this, { autoChunked: s.autoChunked, autoGzip: s.autoGzip });
    this.pump = new RequestBodyPump(owner.client, this, s.maxBody);
    this.idleTicks = owner.shared.idleTicks;
    this.relay.timed = owner.shared.requestLog !== null;
  }

  /** the client's body is still being sent to the node */
  get uploading(): boolean {
    return this.pump.active;
  }

  /** bytes moved with the node in this exchange (the sweep's activity measure) */
  get progress(): number {
    return this.relay.tx + this.bodySent;
  }

  /** request body bytes written to the node in this exchange (the request log) */
  get bodyBytes(): number {
    return this.bodySent;
  }

  /** body bytes written to the node in this exchange */
  private get bodySent(): number {
    return this.storedSending ? (this.owner.storedBody?.sent ?? 0) : this.pump.written;
  }

  /** A node connection is ready: send the request. */
  begin(backend: Socket, lease: NodeLease, reused: boolean): void {
    this.backend = backend;
    this.lease = lease;
    this.reused = reused;
    this.bodyComplete = false;
    this.varsBytes = 0;
    this.surplusKept = 0;
    // a raw session never begins the relay: nothing of an earlier response may show
    this.relay.status = 0;
    this.relay.firstByteAt = 0;
    const o = this.owner;
    const r = nodeRequest(o, lease);
    if (r.kind === 'refuse') {
      this.drop();
      o.fail(r.status, r.code, r.why);
      return;
    }
    if (r.kind === 'tunnel') {
      this.tunnel(r.first);
      return;
    }
    this.varsBytes = r.varsBytes;
    // a uwsgi node never answers `Expect: 100-continue` and an HTTP node never sees it
    // (forward-head.ts): the router does, once, now that it is connected
    o.sendContinue();
    this.start(r.first, r.bodyLength, r.httpNode);
  }

  /** Sends `first` and the body, and starts relaying the response. */
  private start(first: Buffer, bodyLength: number, httpNode: boolean): void {
    const backend = this.backend!;
    this.headBytes = first.length;
    this.attach(backend);
    this.relay.begin(backend, this.owner.facts!, httpNode);
    // head and the first body bytes in one write; the owner keeps `rest` until the
    // response is done (a stale pooled HTTP-node connection is retried with the same bytes)
    backend.cork();
    backend.write(first);
    const stored = this.owner.storedBody;
    this.storedSending = stored !== null;
    if (stored !== null) {
      this.pump.reset();
      stored.send(backend, this);
    } else {
      // a chunked body to an HTTP node is re-chunked canonically (chunk-reframer.ts)
      let sink: BodySink = backend;
      if (bodyLength === -1 && httpNode) {
        if (this.reframer === null) this.reframer = new ChunkReframer();
        sink = this.reframer.begin(backend);
      }
      this.pump.begin(sink, bodyLength, this.owner.rest);
    }
    backend.uncork();
  }

  /** Joins client and node for a raw session; `first` goes to the node before anything. */
  private tunnel(first: Buffer): void {
    const o = this.owner;
    const backend = this.backend!;
    const lease = this.lease!;
    this.backend = null;
    this.lease = null;
    o.enterTunnel();
    const pending = o.takePending();
    backend.cork();
    backend.write(first);
    if (o.rest.length > 0) backend.write(o.rest);
    if (pending) backend.write(pending);
    backend.uncork();
    joinTunnel(o, backend, lease, 0, first.length + o.rest.length + (pending?.length ?? 0));
  }

  private attach(backend: Socket): void {
    const relay = this.relay;
    backend.on('data', relay.onBackendData);
    backend.on('end', relay.onBackendEnd);
    backend.on('drain', this.pump.onBackendDrain);
    backend.on('error', noop);
    backend.on('close', this.onBackendClose);
    // spec: corerouter.md §4 inactivity timeout, on the router's shared sweep (no timer
    // object and no re-arm per read/write)
    if (this.idleTicks > 0) this.shared.sweep.watch(this);
    if (backend.isPaused()) backend.resume();
  }

  private detach(backend: Socket): void {
    const relay = this.relay;
    backend.removeListener('data', relay.onBackendData);
    backend.removeListener('end', relay.onBackendEnd);
    backend.removeListener('drain', this.pump.onBackendDrain);
    backend.removeListener('error', noop);
    backend.removeListener('close', this.onBackendClose);
    this.shared.sweep.unwatch(this);
  }

  /** Client body bytes (while `uploading`). */
  clientData(chunk: Buffer): void {
    this.pump.onClientData(chunk);
  }

  /** Ends the exchange now (client gone, error answer): node closed, lease released. */
  drop(): void {
    const backend = this.backend;
    if (backend) {
      this.detach(backend);
      backend.on('error', noop);
      backend.destroy();
      this.lease!.release(this.relay.tx, this.headBytes + this.bodySent);
      this.backend = null;
      this.lease = null;
    }
    this.relay.stop();
    this.pump.stop();
    this.owner.storedBody?.stopSending();
  }

  private readonly onBackendClose = (): void => {
    // closed without a clean end (reset, error)
    if (this.relay.answered) this.responseBroken('the node connection broke mid-response');
    else if (this.relay.started)
      this.responseInvalid('the node connection broke before the end of its response head');
    else this.responseMissing();
  };

  /** IdleWatched: no byte moved with the node for http-timeout */
  onIdle(): void {
    if (!this.backend) return;
    const o = this.owner;
    if (this.relay.answered) {
      o.note('warn', 'UWR_ERR_TIMEOUT', 'node idle past http-timeout mid-response: closing');
      this.drop();
      o.client.destroy();
    } else if (!this.bodyComplete) {
      o.note('info', 'UWR_ERR_TIMEOUT', 'request body stalled past http-timeout: closing');
      this.drop();
      o.client.destroy();
    } else {
      this.drop();
      o.fail(504, 'UWR_ERR_TIMEOUT', 'the node sent nothing within http-timeout');
    }
  }

  // ---- BodyOwner ---------------------------------------------------------------------

  bodyDone(surplus: Buffer | null): void {
    this.bodyComplete = true;
    if (surplus && surplus.length > 0) {
      this.owner.keepPending(surplus);
      this.surplusKept += surplus.length;
    }
  }

  bodyFailed(r: Extract<ChunkedResult, { state: 'error' }>): void {
    const o = this.owner;
    const answered = this.relay.answered;
    this.drop();
    if (answered) {
      o.note('info', r.code, `bad chunked request body (${r.reason}) mid-response: closing`);
      o.client.destroy();
      return;
    }
    o.fail(r.status, r.code, `bad chunked request body (${r.reason})`);
  }

  // ---- RelayOwner --------------------------------------------------------------------

  responseDone(keepalive: boolean, nodeReusable: boolean): void {
    const backend = this.backend!;
    const lease = this.lease!;
    lease.release(this.relay.tx, this.headBytes + this.bodySent);
    this.backend = null;
    this.lease = null;
    const complete = this.bodyComplete;
    this.pump.stop();
    this.owner.storedBody?.stopSending();
    if (nodeReusable && complete) {
      this.detach(backend);
      this.shared.pool.give(lease.address, backend);
    } else {
      // a destroyed socket emits nothing more but `close` (and maybe `error`): only the
      // close handler must go, the rest dies with the socket (saves work per request)
      backend.removeListener('close', this.onBackendClose);
      this.shared.sweep.unwatch(this);
      backend.destroy();
    }
    this.owner.exchangeDone(keepalive, complete);
  }

  responseMissing(): void {
    const o = this.owner;
    const retry = this.reused && !this.pump.readFromClient;
    this.drop();
    if (retry) {
      // a pooled connection the node had already closed: once more on a fresh one
      o.retryFresh(this.surplusKept);
      return;
    }
    const vars = this.varsBytes;
    if (vars > UWSGI_DEFAULT_BUFFER_SIZE) {
      // spec: uwsgi-protocol.md §5 — a default node logs "invalid request block size" and closes
      o.fail(
        502,
        'UWR_ERR_BACKEND_CLOSED',
        `the node closed the connection without answering; the request's uwsgi vars are ${vars} bytes, ` +
          `over uWSGI's default buffer-size of ${UWSGI_DEFAULT_BUFFER_SIZE}: the node's --buffer-size is the likely cause`,
        NODE_BUFFER_SIZE_502,
      );
      return;
    }
    o.fail(
      502,
      'UWR_ERR_BACKEND_CLOSED',
      'the node closed the connection without answering',
      NODE_CLOSED_502,
    );
  }

  // ---- StoredBodySink ----------------------------------------------------------------

  storedBodySent(): void {
    if (this.backend !== null) this.bodyDone(null);
  }

  storedBodyUnreadable(why: string): void {
    const o = this.owner;
    const started = this.relay.started;
    this.drop();
    if (started) {
      o.note('error', 'UWR_ERR_BODY_STORE', `${why} mid-response: closing`);
      o.client.destroy();
      return;
    }
    o.fail(500, 'UWR_ERR_BODY_STORE', why);
  }

  responseBroken(why: string): void {
    this.owner.note('warn', 'UWR_ERR_BACKEND_CLOSED', `${why}: closing`);
    this.drop();
    this.owner.client.destroy();
  }

  responseInvalid(why: string): void {
    this.drop();
    this.owner.fail(502, 'UWR_ERR_BAD_RESPONSE', why);
  }

  upgraded(head: Buffer, rest: Buffer): void {
    const o = this.owner;
    const backend = this.backend!;
    const lease = this.lease!;
    if (!this.bodyComplete) {
      // RFC 9110 §15.2.2: the switch follows the whole request; a node that switched
      // before the body was sent would get the rest of the body as tunnel bytes
      this.responseInvalid('a 101 before the request body was complete');
      return;
    }
    const tx = this.relay.tx;
    const rx = this.headBytes + this.pump.written;
    this.detach(backend);
    this.backend = null;
    this.lease = null;
    this.pump.stop();
    this.relay.stop();
    o.enterTunnel();
    const client = o.client;
    client.cork();
    client.write(head);
    if (rest.length > 0) client.write(rest);
    client.uncork();
    // what the client sent after the upgrade request was held until now: the tunnel's start
    const pending = o.takePending();
    if (pending) backend.write(pending);
    if (client.readableEnded) backend.end();
    joinTunnel(o, backend, lease, tx, rx + (pending?.length ?? 0));
    // the relay may have paused the node for a full client buffer: the Join reads on
    if (backend.isPaused()) backend.resume();
  }
}

const noop = (): void => {};
