/**
 * Relays one response from a node to the client (spec: http-router.md §7, §8): the head is
 * inspected up to its blank line, `decideKeepalive` plans it, the head is rewritten
 * (`Transfer-Encoding: chunked`, `Content-Encoding: gzip`, `Connection: close`) and the
 * body is relayed verbatim, chunk-framed (`http-auto-chunked`) or gzipped
 * (`http-auto-gzip`), with backpressure: the node is paused while the client is full.
 *
 * Where the response ends comes from the node's own framing (Content-Length, chunked,
 * bodyless) or, without one, from the node closing. uwsgi nodes answer one request per
 * connection, so for them the response ends when the node closes (spec §7); an HTTP node's
 * response ends with its framing and the connection can serve the next request.
 *
 * Nothing but a valid response reaches the client: a head that is not valid HTTP/1.x
 * (src/protocol/http-response-head.ts), a node that closes before its head ends, or a 101
 * to a request the router did not hold as an upgrade is a 502 (`responseInvalid`), for
 * both node kinds. Interim heads: 100 and 103 are relayed to HTTP/1.1 clients, other 1xx
 * are dropped (RFC 9110 §15.2: never to HTTP/1.0 clients); a 101 to a held websocket
 * upgrade hands the connection to a tunnel (`upgraded`).
 */
import type { Socket } from 'node:net';
import { type ResponseHeadFacts, ResponseHeadReader } from '../protocol/http-response-head.ts';
import { CHUNK_END, ChunkedBodyParser, chunkHeader, LAST_CHUNK } from './chunked.ts';
import { GzipChunkedEncoder } from './gzip-stream.ts';
import {
  decideKeepalive,
  isBodyless,
  type KeepaliveOptions,
  type KeepaliveRequestFacts,
  type ResponsePlan,
  rewriteResponseHead,
} from './response-head.ts';

export interface RelayOwner {
  /**
   * The response is complete on the client side. `keepalive`: the plan allows the next
   * request; `nodeReusable`: an HTTP node's connection can take another request.
   */
  responseDone(keepalive: boolean, nodeReusable: boolean): void;
  /** the node closed before sending a single byte */
  responseMissing(): void;
  /** the node broke off after bytes went out: the client must see the cut */
  responseBroken(why: string): void;
  /** no valid response head (nothing of it went to the client): 502 */
  responseInvalid(why: string): void;
  /** a 101 to the websocket upgrade the router held: `head` + `rest` go to the client */
  upgraded(head: Buffer, rest: Buffer): void;
}

/** interim (1xx) heads accepted before the final one; more is a node gone wrong */
const MAX_INTERIM = 16;

const OFF = 0;
const HEAD = 1;
const LENGTH = 2;
const CHUNKED = 3;
const UNTIL_CLOSE = 4;
/** framing complete (or bodyless): node bytes from here on are dropped */
const DONE = 5;

export class ResponseRelay {
  private readonly client: Socket;
  private readonly owner: RelayOwner;
  private readonly options: KeepaliveOptions;
  private readonly reader = new ResponseHeadReader();
  private readonly parser = new ChunkedBodyParser({ maxLineSize: 4096, maxTrailerSize: 65536 });
  private backend: Socket | null = null;
  private req: KeepaliveRequestFacts | null = null;
  private httpNode = false;
  private state = OFF;
  private remaining = 0;
  private plan: ResponsePlan | null = null;
  private nodeReusable = false;
  private interim = 0;
  /** the final head went to the client (from here on a failure can only cut the answer) */
  private finalHead = false;
  /** client-side encoding */
  private chunk = false;
  private gzip: GzipChunkedEncoder | null = null;
  private gzipBusy = 0;
  private blocked = false;
  /** bytes read from the node for this response (its `tx`) */
  tx = 0;
  /** the final head's status (0 until it went out; the request log) */
  status = 0;
  /** record `firstByteAt` (a request log is written) */
  timed = false;
  /** performance.now() at the node's first response byte (0: none yet) */
  firstByteAt = 0;

  constructor(client: Socket, owner: RelayOwner, options: KeepaliveOptions) {
    this.client = client;
    this.owner = owner;
    this.options = options;
  }

  /** any byte of a response came from the node (after that: no 502/504, just close) */
  get started(): boolean {
    return this.tx > 0;
  }

  /** the final response head went to the client */
  get answered(): boolean {
    return this.finalHead;
  }

  /** the response is still being relayed */
  get active(): boolean {
    return this.state !== OFF;
  }

  begin(backend: Socket, req: KeepaliveRequestFacts, httpNode: boolean): void {
    this.backend = backend;
    this.req = req;
    this.httpNode = httpNode;
    this.state = HEAD;
    this.tx = 0;
    this.status = 0;
    this.firstByteAt = 0;
    this.plan = null;
    this.chunk = false;
    this.blocked = false;
    this.gzipBusy = 0;
    this.interim = 0;
    this.finalHead = false;
    this.reader.reset();
  }

  /** Stops relaying (session torn down); frees zlib. */
  stop(): void {
    this.state = OFF;
    this.backend = null;
    this.req = null;
    if (this.gzip) {
      this.gzip.destroy();
      this.gzip = null;
    }
  }

  readonly onBackendData = (chunk: Buffer): void => {
    if (this.tx === 0 && this.timed) this.firstByteAt = performance.now();
    this.tx += chunk.length;
    const state = this.state;
    if (state === HEAD) this.headData(chunk);
    else if (state >= LENGTH && state <= UNTIL_CLOSE) this.body(chunk);
    else if (state === DONE) this.nodeReusable = false;
  };

  readonly onClientDrain = (): void => {
    this.blocked = false;
    if (this.gzipBusy === 0 && this.backend && this.state !== OFF) this.backend.resume();
  };

  /** Node EOF. */
  readonly onBackendEnd = (): void => {
    const state = this.state;
    if (state === OFF) return;
    if (state === HEAD) {
      this.state = OFF;
      if (this.tx === 0) this.owner.responseMissing();
      // uWSGI relays the partial head as is; the client gets a 502 instead
      else this.owner.responseInvalid('the node closed before the end of its response head');
      return;
    }
    if (state === LENGTH || state === CHUNKED) {
      this.state = OFF;
      this.owner.responseBroken('the node closed in the middle of the response body');
      return;
    }
    // past HEAD a plan always exists (startBody set it)
    const plan = this.plan!;
    if (state === UNTIL_CLOSE && this.gzip) {
      const gz = this.gzip;
      this.gzipBusy++;
      gz.end().then(
        (out) => {
          this.gzipBusy--;
          if (this.gzip !== gz) return;
          this.writeAll(out);
          this.finish(plan.keepalive, false);
        },
        () => this.gzipFailed(gz),
      );
      return;
    }
    if (state === UNTIL_CLOSE && this.chunk) {
      this.write(LAST_CHUNK);
      this.finish(plan.keepalive, false);
      return;
    }
    this.finish(state === DONE && plan.keepalive, false);
  };

  private headData(chunk: Buffer): void {
    let data = chunk;
    for (;;) {
      const r = this.reader.push(data);
      if (r.state === 'need-more') return;
      if (r.state === 'error') {
        this.invalid(`no valid response head (${r.reason})`);
        return;
      }
      const facts = r.facts;
      if (facts.error !== null) {
        this.invalid(`invalid response head (${facts.error})`);
        return;
      }
      const req = this.req!;
      if (facts.status === 101) {
        // a protocol switch only for the upgrade the router holds (RFC 9110 §15.2.2)
        if (!req.upgrade) {
          this.invalid('a 101 to a request that asked for no upgrade');
          return;
        }
        this.state = OFF;
        this.finalHead = true;
        this.status = 101;
        this.backend = null;
        this.owner.upgraded(r.head, r.rest);
        return;
      }
      const plan = decideKeepalive(req, facts, this.options, this.httpNode);
      if (plan.informational) {
        if (++this.interim > MAX_INTERIM) {
          this.invalid(`more than ${MAX_INTERIM} interim (1xx) responses`);
          return;
        }
        // 100 and 103 to HTTP/1.1 clients; 102 and unknown 1xx are dropped
        if ((facts.status === 100 || facts.status === 103) && req.protocol === 'HTTP/1.1')
          this.write(rewriteResponseHead(r.head, facts, plan, this.httpNode));
        this.reader.reset();
        if (r.rest.length === 0) return;
        data = r.rest;
        continue;
      }
      this.startBody(plan, r.head, facts, r.rest);
      return;
    }
  }

  private invalid(why: string): void {
    this.state = OFF;
    this.owner.responseInvalid(why);
  }

  private startBody(plan: ResponsePlan, head: Buffer, facts: ResponseHeadFacts, rest: Buffer): void {
    this.plan = plan;
    const req = this.req!;
    this.finalHead = true;
    this.status = facts.status;
    // where the node's response ends, from its own framing
    if (isBodyless(req.method, facts.status)) {
      this.state = DONE;
    } else if (facts.hasTransferEncoding) {
      this.state = facts.transferChunked ? CHUNKED : UNTIL_CLOSE;
      if (facts.transferChunked) this.parser.reset();
    } else if (facts.contentLength >= 0) {
      this.remaining = facts.contentLength;
      this.state = this.remaining === 0 ? DONE : LENGTH;
    } else {
      this.state = UNTIL_CLOSE;
    }
    // a node connection that carried an upgrade request is not reused: the node's parser
    // may have stopped at it (Node's does, even when it refused)
    this.nodeReusable =
      this.httpNode && facts.http11 && !facts.connectionClose && !req.upgrade && this.state !== UNTIL_CLOSE;
    this.chunk = plan.chunk && !plan.gzip;
    if (plan.gzip) this.gzip = new GzipChunkedEncoder();
    const out = rewriteResponseHead(head, facts, plan, this.httpNode);
    const client = this.client;
    if (out === head && this.state !== DONE && !this.chunk && !this.gzip && rest.length > 0) {
      // the common case: head and body start are one slice of one read
      const whole =
        rest.buffer === head.buffer && head.byteOffset + head.length === rest.byteOffset
          ? Buffer.from(head.buffer, head.byteOffset, head.length + rest.length)
          : null;
      if (whole) {
        this.body(rest, whole);
        return;
      }
    }
    client.cork();
    this.write(out);
    if (this.state === DONE) this.framed();
    else if (rest.length > 0) this.body(rest);
    client.uncork();
  }

  /**
   * Node body bytes; `wire` (when given) is the same bytes with the head in front, sent
   * instead of `data` when all of `data` is body.
   */
  private body(data: Buffer, wire?: Buffer): void {
    const state = this.state;
    if (state === LENGTH) {
      const n = this.remaining;
      if (data.length <= n) {
        this.remaining = n - data.length;
        this.emit(wire ?? data);
      } else {
        // bytes past Content-Length: not part of this response
        this.remaining = 0;
        this.nodeReusable = false;
        this.emit(wire ? wire.subarray(0, wire.length - data.length + n) : data.subarray(0, n));
      }
      if (this.remaining === 0) this.framed();
      return;
    }
    if (state === CHUNKED) {
      const r = this.parser.push(data);
      if (r.state === 'need-more') {
        this.emit(wire ?? data);
      } else if (r.state === 'done') {
        if (r.consumed < data.length) this.nodeReusable = false;
        const cut = data.length - r.consumed;
        this.emit(wire ? wire.subarray(0, wire.length - cut) : data.subarray(0, r.consumed));
        this.framed();
      } else {
        this.state = OFF;
        this.owner.responseBroken(`the node's chunked response is malformed (${r.reason})`);
      }
      return;
    }
    if (state === UNTIL_CLOSE) this.emit(wire ?? data);
  }

  /** One piece of body to the client in the planned encoding. */
  private emit(data: Buffer): void {
    if (data.length === 0) return;
    if (this.gzip) {
      const gz = this.gzip;
      this.gzipBusy++;
      this.backend!.pause();
      gz.write(data).then(
        (out) => {
          this.gzipBusy--;
          if (this.gzip !== gz) return;
          this.writeAll(out);
          if (!this.blocked && this.gzipBusy === 0 && this.state !== OFF) this.backend?.resume();
        },
        () => this.gzipFailed(gz),
      );
      return;
    }
    if (this.chunk) {
      const client = this.client;
      client.cork();
      client.write(chunkHeader(data.length));
      client.write(data);
      this.write(CHUNK_END);
      client.uncork();
      return;
    }
    this.write(data);
  }

  private writeAll(parts: Buffer[]): void {
    if (parts.length === 0) return;
    const client = this.client;
    client.cork();
    for (let i = 0; i < parts.length - 1; i++) client.write(parts[i]);
    this.write(parts[parts.length - 1]);
    client.uncork();
  }

  private write(data: Buffer): void {
    if (data.length === 0 || this.client.destroyed) return;
    if (!this.client.write(data) && !this.blocked) {
      this.blocked = true;
      this.backend?.pause();
    }
  }

  private gzipFailed(gz: GzipChunkedEncoder): void {
    if (this.gzip !== gz) return;
    this.state = OFF;
    this.owner.responseBroken('gzip encoding failed');
  }

  /** The node's framing is complete. */
  private framed(): void {
    this.state = DONE;
    // an HTTP node's response ends here; a uwsgi node's when it closes (spec §7)
    if (this.httpNode) this.finish(this.plan!.keepalive, this.nodeReusable);
  }

  private finish(keepalive: boolean, nodeReusable: boolean): void {
    this.state = OFF;
    if (this.gzip) {
      this.gzip.destroy();
      this.gzip = null;
    }
    this.backend = null;
    this.owner.responseDone(keepalive, nodeReusable);
  }
}
