/**
 * The keepalive / rewrite decision for a node's response head (spec: http-router.md §7,
 * §8). Pure: the relay feeds node bytes to the ResponseHeadReader
 * (src/protocol/http-response-head.ts), gets validated facts, asks `decideKeepalive` for a
 * plan, then writes `rewriteResponseHead(...)` (or the head untouched) and the body.
 *
 * HTTP nodes get their hop-by-hop fields stripped (RFC 9110 §7.6.1): the client hears the
 * router's connection management, never the node's `Connection: keep-alive` /
 * `Keep-Alive: timeout=5`. uwsgi nodes' heads pass as uWSGI passes them, except that a
 * node's Connection header never contradicts the router's decision to close.
 */
import { nameIs, type ResponseHeadFacts, trimmedLower } from '../protocol/http-response-head.ts';

export {
  DEFAULT_MAX_RESPONSE_HEAD,
  inspectResponseHead,
  type ResponseHeadError,
  type ResponseHeadFacts,
  ResponseHeadReader,
  type ResponseHeadResult,
} from '../protocol/http-response-head.ts';

const CR = 13;
const LF = 10;

/** What the request contributes to the keepalive decision (spec §7). */
export interface KeepaliveRequestFacts {
  /** `http-keepalive` is set */
  keepaliveEnabled: boolean;
  protocol: string;
  method: string;
  connectionClose: boolean;
  connectionUpgrade: boolean;
  /** any Transfer-Encoding on the request */
  transferEncoding: boolean;
  /** the session is raw from the start: raw-body, SOURCE, modifier1 123 (spec §6) */
  raw: boolean;
  /**
   * a websocket upgrade the router holds (websocket.ts): a 101 turns it into a tunnel;
   * any other answer is a normal response and the client's next bytes a new request
   */
  upgrade: boolean;
  /** the client sent more bytes than Content-Length (no pipelining, spec §5) */
  surplusBody: boolean;
  /** Accept-Encoding contains gzip */
  acceptGzip: boolean;
}

export interface KeepaliveOptions {
  /** `http-auto-chunked` */
  autoChunked: boolean;
  /** `http-auto-gzip` */
  autoGzip: boolean;
}

export interface ResponsePlan {
  /** re-arm reading the client after this response */
  keepalive: boolean;
  /** chunk-encode the body (adds `Transfer-Encoding: chunked`) */
  chunk: boolean;
  /** gzip + chunk the body (adds both headers, spec §8) */
  gzip: boolean;
  /** add `Connection: close` (replacing another Connection header) */
  connectionClose: boolean;
  /**
   * how the client finds the body's end, i.e. what the session must relay:
   * `none` (HEAD/1xx/204/304: drop node bytes after the head), `length` (exactly
   * `contentLength` bytes), `chunked` (node's own chunking), `close` (until the node closes).
   */
  body: 'none' | 'length' | 'chunked' | 'close';
  /** a 1xx other than 101: an interim head; the final head follows */
  informational: boolean;
}

/** True for responses that never carry a body (RFC 9110 §6.4.1). */
export function isBodyless(method: string, status: number): boolean {
  return method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304;
}

/**
 * The keepalive / rewrite decision of spec §7–8 as one pure function. Differences from
 * uWSGI: `Connection: close` is added whenever the router will close (issue #2112),
 * bodyless responses are never chunked, and a refused websocket upgrade (`req.upgrade`,
 * answered without 101) can be kept alive: the router resolved the upgrade, so the
 * request's `Connection: Upgrade` no longer forbids the next request. A 101 reaches this
 * only for an upgrade the router holds (the relay refuses any other). `httpNode`: the head
 * is an HTTP node's, whose connection management is hop-by-hop (RFC 9110 §7.6.1).
 */
export function decideKeepalive(
  req: KeepaliveRequestFacts,
  res: ResponseHeadFacts,
  options: KeepaliveOptions,
  httpNode = false,
): ResponsePlan {
  if (res.status === 101 || req.raw) {
    // tunnel: the node speaks for itself; nothing to rewrite, close at the end
    return {
      keepalive: false,
      chunk: false,
      gzip: false,
      connectionClose: false,
      body: 'close',
      informational: false,
    };
  }
  if (res.status >= 100 && res.status < 200) {
    return {
      keepalive: false,
      chunk: false,
      gzip: false,
      connectionClose: false,
      body: 'none',
      informational: true,
    };
  }
  const requestOk =
    req.keepaliveEnabled &&
    req.protocol === 'HTTP/1.1' &&
    !req.connectionClose &&
    !(req.connectionUpgrade && !req.upgrade) &&
    !req.transferEncoding &&
    !req.surplusBody;
  // an HTTP node's `Connection: close` or HTTP/1.0 is about its own connection (the relay
  // does not reuse it); the client's connection stays the router's decision. A uwsgi node's
  // head speaks to the client, as in uWSGI (spec §7)
  const responseOk = (httpNode || (res.http11 && !res.connectionClose)) && !res.hasTrailers;
  let keepalive = requestOk && responseOk;
  const bodyless = isBodyless(req.method, res.status);
  let chunk = false;
  let gzip = false;
  let body: ResponsePlan['body'];
  const framed = res.contentLength >= 0 || res.hasTransferEncoding;
  if (bodyless) {
    body = 'none';
  } else if (
    options.autoGzip &&
    req.acceptGzip &&
    res.uwsgiEncodingGzip &&
    !res.hasContentEncoding &&
    !framed &&
    // chunked framing needs HTTP/1.1 on both sides of the router
    res.http11 &&
    req.protocol === 'HTTP/1.1'
  ) {
    gzip = true;
    chunk = true;
    body = 'chunked';
  } else if (res.contentLength >= 0 && !res.hasTransferEncoding) {
    body = 'length';
  } else if (res.hasTransferEncoding) {
    body = res.transferChunked ? 'chunked' : 'close';
    if (!res.transferChunked) keepalive = false;
  } else if (options.autoChunked && keepalive) {
    chunk = true;
    body = 'chunked';
  } else {
    body = 'close';
    keepalive = false;
  }
  const connectionClose = !keepalive && !res.connectionClose;
  return { keepalive, chunk, gzip, connectionClose, body, informational: false };
}

const TE_CHUNKED = 'Transfer-Encoding: chunked\r\n';
const CE_GZIP = 'Content-Encoding: gzip\r\n';
const CONN_CLOSE = 'Connection: close\r\n';

/** never forwarded from an HTTP node's response (RFC 9110 §7.6.1) */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade']);
/** a node's Connection list cannot remove the framing the router relays by */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/**
 * The head to send to the client for `plan`: lines inserted before the blank line.
 * `httpNode`: every hop-by-hop field and every field the node's Connection lists is
 * dropped, and `Connection: close` is added whenever the router closes. Otherwise (uwsgi
 * nodes, spec §7) with `connectionClose` an existing Connection/Keep-Alive line is
 * replaced. An HTTP node's HTTP/1.0 status line is sent as HTTP/1.1. Returns the input
 * itself when nothing changes.
 */
export function rewriteResponseHead(
  head: Buffer,
  facts: ResponseHeadFacts,
  plan: ResponsePlan,
  httpNode = false,
): Buffer {
  let extra = '';
  if (plan.chunk || plan.gzip) extra += TE_CHUNKED;
  if (plan.gzip) extra += CE_GZIP;
  // an HTTP node's own Connection line never reaches the client: the router says close
  if (httpNode ? !plan.keepalive && !plan.informational : plan.connectionClose) extra += CONN_CLOSE;
  const filter = httpNode ? facts.hopByHop : plan.connectionClose && facts.hasConnection;
  // RFC 9110 §6.2: an intermediary sends its own version; an HTTP/1.0 status line would
  // make an HTTP/1.1 client close the connection the router keeps (RFC 9112 §9.3)
  const version10 = httpNode && !facts.http11;
  if (!filter) {
    if (extra === '') return version10 ? asHttp11(Buffer.from(head)) : head;
    const cut = head.length - 2; // the blank line's CR LF
    const out = Buffer.allocUnsafe(head.length + extra.length);
    head.copy(out, 0, 0, cut);
    out.write(extra, cut, 'latin1');
    out[out.length - 2] = CR;
    out[out.length - 1] = LF;
    return version10 ? asHttp11(out) : out;
  }
  const listed = httpNode ? connectionListed(head) : null;
  const parts: Buffer[] = [];
  const cut = head.length - 2;
  let p = 0;
  while (p < cut) {
    const le = head.indexOf(LF, p);
    const colon = head.indexOf(58, p);
    let dropped = false;
    if (p > 0 && colon > p && colon < le) {
      if (httpNode) {
        dropped =
          isHopByHop(head, p, colon) || listed?.has(head.toString('latin1', p, colon).toLowerCase()) === true;
      } else {
        dropped = nameIs(head, p, colon, 'connection') || nameIs(head, p, colon, 'keep-alive');
      }
    }
    if (!dropped) parts.push(head.subarray(p, le + 1));
    p = le + 1;
  }
  parts.push(Buffer.from(`${extra}\r\n`, 'latin1'));
  const out = Buffer.concat(parts);
  return version10 ? asHttp11(out) : out;
}

/** `HTTP/1.0 …` → `HTTP/1.1 …` in place (a copy the caller owns). */
function asHttp11(head: Buffer): Buffer {
  head[7] = 49;
  return head;
}

/** One of HOP_BY_HOP, compared in place (no string per header line). */
function isHopByHop(head: Buffer, s: number, e: number): boolean {
  switch (e - s) {
    case 2:
      return nameIs(head, s, e, 'te');
    case 7:
      return nameIs(head, s, e, 'upgrade');
    case 10:
      return nameIs(head, s, e, 'connection') || nameIs(head, s, e, 'keep-alive');
    case 16:
      return nameIs(head, s, e, 'proxy-connection');
    default:
      return false;
  }
}

/**
 * The other fields an HTTP node's Connection lists (null when it lists only hop-by-hop
 * names such as `keep-alive`/`close`: the usual case allocates nothing).
 */
function connectionListed(head: Buffer): Set<string> | null {
  let names: Set<string> | null = null;
  const cut = head.length - 2;
  let p = head.indexOf(LF) + 1;
  while (p > 0 && p < cut) {
    const le = head.indexOf(LF, p);
    const colon = head.indexOf(58, p);
    if (colon > p && colon < le && nameIs(head, p, colon, 'connection')) {
      for (const t of trimmedLower(head, colon + 1, le - 1).split(',')) {
        const n = t.trim();
        if (n === '' || FRAMING.has(n) || HOP_BY_HOP.has(n)) continue;
        names ??= new Set();
        names.add(n);
      }
    }
    p = le + 1;
  }
  return names;
}
