/**
 * What one request-log line says (request-log.ts writes it), and the object a router fills
 * in as a request goes.
 */
import type { RequestLog } from './request-log.ts';

/** What one line says. Times in ms; -1 = did not happen (no node connected, no byte). */
export interface RequestRecord {
  /** `http`, `fastrouter` */
  router: string;
  /** wall-clock start (epoch ms): the request head complete */
  startedAt: number;
  clientAddr: string;
  clientPort: number;
  method: string;
  uri: string;
  protocol: string;
  /** the status sent to the client; 0 = none (no answer, or a raw tunnel) */
  status: number;
  /** bytes written to the client for this request (head and body) */
  responseBytes: number;
  /** request body bytes sent to the node */
  requestBodyBytes: number;
  totalMs: number;
  connectMs: number;
  ttfbMs: number;
  key: string;
  node: string;
  /** the error code of a failed request ('' = none) */
  code: string;
  /** uWSGI's `{N vars in B bytes}`: the request's header fields / uwsgi vars and head size */
  vars: number;
  varsBytes: number;
}

/**
 * One request's line, filled in as the request goes (routers keep one per connection and
 * reuse it): begun when the request is read, the node and connect time when a node
 * connection is ready, the first code noted, written once by `end`.
 */
export class RequestLine implements RequestRecord {
  readonly router: string;
  startedAt = 0;
  clientAddr = '';
  clientPort = 0;
  method = '-';
  uri = '-';
  protocol = '-';
  status = 0;
  responseBytes = 0;
  requestBodyBytes = 0;
  totalMs = 0;
  connectMs = -1;
  ttfbMs = -1;
  key = '';
  node = '';
  code = '';
  vars = 0;
  varsBytes = 0;
  /** begun and not yet written */
  active = false;
  /** a number the router keeps from the start (HTTP: the client's bytesWritten) */
  mark = 0;
  private readonly log: RequestLog;
  /** performance.now() at the start, and when looking for a node started */
  private t0 = 0;
  private routeAt = 0;

  constructor(log: RequestLog, router: string) {
    this.log = log;
    this.router = router;
  }

  begin(method: string, uri: string, protocol: string, vars: number, varsBytes: number, mark = 0): void {
    this.active = true;
    this.startedAt = Date.now();
    this.t0 = performance.now();
    this.routeAt = this.t0;
    this.method = method;
    this.uri = uri;
    this.protocol = protocol;
    this.vars = vars;
    this.varsBytes = varsBytes;
    this.mark = mark;
    this.connectMs = -1;
    this.ttfbMs = -1;
    this.node = '';
    this.code = '';
  }

  /** Looking for a node starts (an HTTP body may have been stored first). */
  routing(): void {
    this.routeAt = performance.now();
  }

  /** A node connection is ready. */
  connected(node: string): void {
    this.connectMs = performance.now() - this.routeAt;
    this.node = node;
  }

  /** The node's first response byte came at `at` (performance.now(); 0 = none). */
  firstByte(at: number): void {
    if (at > 0 && this.ttfbMs < 0) this.ttfbMs = at - this.t0;
  }

  /** The first code noted for a request is its error code. */
  noted(code: string): void {
    if (this.active && this.code === '') this.code = code;
  }

  /** Writes the line (once); `code` counts when none was noted. */
  end(
    client: { readonly address: string; readonly port: number },
    key: string,
    status: number,
    code: string,
    responseBytes: number,
    requestBodyBytes: number,
  ): void {
    if (!this.active) return;
    this.active = false;
    this.totalMs = performance.now() - this.t0;
    this.clientAddr = client.address;
    this.clientPort = client.port;
    this.key = key;
    this.status = status;
    if (this.code === '') this.code = code;
    this.responseBytes = responseBytes;
    this.requestBodyBytes = requestBodyBytes;
    this.log.write(this);
  }
}
