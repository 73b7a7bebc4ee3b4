/**
 * What a node exchange (node-exchange.ts) needs of its client connection (connection.ts):
 * the request, the client socket, the failure and keepalive steps.
 */
import type { Socket } from 'node:net';
import type { ConnectionLogLevel } from '../connection-log.ts';
import type { PeerInfo } from '../corerouter/peer-info.ts';
import type { StoredRequestBody } from '../corerouter/stored-body.ts';
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import type { RouterErrorStatus } from './error-response.ts';
import type { HttpsSession } from './https.ts';
import type { KeepaliveRequestFacts } from './response-head.ts';
import type { HttpRouterShared } from './router-state.ts';

export interface ExchangeOwner {
  readonly client: Socket;
  readonly info: PeerInfo;
  readonly serverPort: string;
  /** the TLS side of an HTTPS connection: HTTPS vars, X-Forwarded-Proto (null: plain HTTP) */
  readonly https: HttpsSession | null;
  readonly shared: HttpRouterShared;
  readonly head: HttpRequestHead | null;
  /** bytes that came with the head (body start, maybe the next request) */
  readonly rest: Buffer;
  readonly facts: KeepaliveRequestFacts | null;
  readonly raw: boolean;
  readonly websocket: boolean;
  /** the de-chunked body to send instead of reading the client (stored-body.ts) */
  readonly storedBody: StoredRequestBody | null;
  /** writes a due `100 Continue` (a uwsgi node now wants the body) */
  sendContinue(): void;
  /** one log line (connection-log.ts) and one counter */
  note(level: ConnectionLogLevel, code: string, why: string): void;
  fail(status: RouterErrorStatus, code: string, why: string, page?: Buffer): void;
  /** the response is out: next request (keepalive) or close; `bodyComplete` = all read */
  exchangeDone(keepalive: boolean, bodyComplete: boolean): void;
  /**
   * A stale pooled node connection: route the same request again, without the pool. The
   * first `rederived` pending bytes came from `rest` and the retry derives them again.
   */
  retryFresh(rederived: number): void;
  /** raw mode: the connection stops handling client events itself */
  enterTunnel(): void;
  /** client bytes past the current request: the start of the next one */
  keepPending(surplus: Buffer): void;
  takePending(): Buffer | null;
}
