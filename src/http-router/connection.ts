/**
 * One request on an HTTP router connection (spec: http-router.md): find the key (Host, else
 * the TLS server name, else the hostname, §4), admit it (request-admission.ts), connect to a
 * node through the corerouter (retries, fallbacks), send the uwsgi packet (§2) or an HTTP/1.1
 * head (HTTP nodes), stream the body (request-body.ts), relay the response
 * (response-relay.ts), then close or — keepalive (§7) — read the next request.
 * Raw modes (§6: websockets, `http-raw-body`, SOURCE, modifier1 123) join the sockets.
 * The client socket, the head reader, keepalive and the endings: client-connection.ts.
 */
import type { Socket } from 'node:net';
import type { StoredRequestBody } from '../corerouter/stored-body.ts';
import type { NodeLease } from '../corerouter/types.ts';
import { normalizeHostKey } from '../protocol/host-key.ts';
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import {
  EMPTY,
  HttpClientConnection,
  S_EXCHANGE,
  S_ROUTING,
  S_STORING,
  S_TUNNEL,
} from './client-connection.ts';
import { CONTINUE_100, EXPECT_TOO_LARGE_413, redirectToHttps } from './error-response.ts';
import type { ExchangeOwner } from './exchange-owner.ts';
import { NodeExchange } from './node-exchange.ts';
import { NodeRoute, type RouteOwner } from './node-route.ts';
import * as admission from './request-admission.ts';
import { beginHttpLine } from './request-record.ts';
import { headWithStoredBody } from './stored-body.ts';
import { viaLoop } from './via.ts';
import { isWebSocketUpgrade } from './websocket.ts';

export class HttpConnection extends HttpClientConnection implements RouteOwner, ExchangeOwner {
  private readonly route = new NodeRoute(this);

  // ---- one request -------------------------------------------------------------------

  protected request(head: HttpRequestHead, rest: Buffer): void {
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

  protected cancelRoute(): void {
    this.route.cancel();
  }
}
