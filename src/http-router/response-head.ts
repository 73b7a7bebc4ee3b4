/**
 * Inspects the raw HTTP response head a node sends back (spec: http-router.md §7, §8) and
 * rewrites it for auto-chunked / auto-gzip / `Connection: close`. Pure: the session feeds
 * node bytes, gets facts, asks `decideKeepalive` for a plan, then writes
 * `rewriteResponseHead(...)` (or the head untouched) followed by the body.
 *
 * A node that sends no parsable head within the bound is not an error: the reader says
 * `opaque` and the session relays the bytes verbatim and closes (what uWSGI does).
 */

export const DEFAULT_MAX_RESPONSE_HEAD = 65536;

export interface ResponseHeadFacts {
  /** bytes of the head including the final CR LF CR LF */
  headSize: number;
  /** the status line starts with `HTTP/1.1` (spec §7) */
  http11: boolean;
  /** 0 when the status line is not `HTTP/x.y NNN` */
  status: number;
  /** -1 when absent, -2 when invalid or conflicting */
  contentLength: number;
  hasTransferEncoding: boolean;
  /** the final transfer coding is chunked */
  transferChunked: boolean;
  hasConnection: boolean;
  connectionClose: boolean;
  /** a `Trailers` (uWSGI) or `Trailer` header */
  hasTrailers: boolean;
  hasContentEncoding: boolean;
  /** `uWSGI-Encoding: gzip` (spec §8) */
  uwsgiEncodingGzip: boolean;
}

export type ResponseHeadResult =
  | { state: 'need-more' }
  | { state: 'done'; head: Buffer; facts: ResponseHeadFacts; rest: Buffer }
  /** no head within the bound: relay `data` as is and close after the response */
  | { state: 'opaque'; data: Buffer };

const CR = 13;
const LF = 10;

function lowerTrim(buf: Buffer, s: number, e: number): string {
  while (s < e && (buf[s] === 32 || buf[s] === 9)) s++;
  while (e > s && (buf[e - 1] === 32 || buf[e - 1] === 9)) e--;
  return buf.toString('latin1', s, e).toLowerCase();
}

function nameIs(buf: Buffer, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((buf[s + i] | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

function hasToken(list: string, token: string): boolean {
  for (const t of list.split(',')) if (t.trim() === token) return true;
  return false;
}

function lastToken(list: string): string {
  const i = list.lastIndexOf(',');
  return (i < 0 ? list : list.slice(i + 1)).trim();
}

/** Reads the facts of a complete head `buf[0, end)`. Lines may end in bare LF (nodes are lax). */
export function inspectResponseHead(buf: Buffer, end: number): ResponseHeadFacts {
  const f: ResponseHeadFacts = {
    headSize: end,
    http11: false,
    status: 0,
    contentLength: -1,
    hasTransferEncoding: false,
    transferChunked: false,
    hasConnection: false,
    connectionClose: false,
    hasTrailers: false,
    hasContentEncoding: false,
    uwsgiEncodingGzip: false,
  };
  let le = buf.indexOf(LF);
  if (le < 0 || le >= end) return f;
  const sl = le > 0 && buf[le - 1] === CR ? le - 1 : le;
  f.http11 = sl >= 8 && buf.toString('latin1', 0, 8) === 'HTTP/1.1';
  if (sl >= 12 && buf.toString('latin1', 0, 5) === 'HTTP/' && buf[8] === 32) {
    let n = 0;
    for (let i = 9; i < 12; i++) {
      const c = buf[i];
      if (c < 48 || c > 57) {
        n = 0;
        break;
      }
      n = n * 10 + c - 48;
    }
    if (sl === 12 || buf[12] === 32) f.status = n;
  }
  let te = '';
  let p = le + 1;
  while (p < end) {
    le = buf.indexOf(LF, p);
    if (le < 0 || le > end) break;
    const e = le > p && buf[le - 1] === CR ? le - 1 : le;
    if (e === p) break;
    const colon = buf.indexOf(58, p);
    if (colon > p && colon < e) {
      const nl = colon - p;
      if (nl === 14 && nameIs(buf, p, colon, 'content-length')) {
        const v = lowerTrim(buf, colon + 1, e);
        const n = /^[0-9]{1,15}$/.test(v) ? Number(v) : -2;
        f.contentLength = f.contentLength === -1 || f.contentLength === n ? n : -2;
      } else if (nl === 17 && nameIs(buf, p, colon, 'transfer-encoding')) {
        f.hasTransferEncoding = true;
        te = lowerTrim(buf, colon + 1, e);
      } else if (nl === 10 && nameIs(buf, p, colon, 'connection')) {
        f.hasConnection = true;
        if (hasToken(lowerTrim(buf, colon + 1, e), 'close')) f.connectionClose = true;
      } else if (
        (nl === 8 && nameIs(buf, p, colon, 'trailers')) ||
        (nl === 7 && nameIs(buf, p, colon, 'trailer'))
      ) {
        f.hasTrailers = true;
      } else if (nl === 16 && nameIs(buf, p, colon, 'content-encoding')) {
        f.hasContentEncoding = true;
      } else if (nl === 14 && nameIs(buf, p, colon, 'uwsgi-encoding')) {
        if (lowerTrim(buf, colon + 1, e) === 'gzip') f.uwsgiEncodingGzip = true;
      }
    }
    p = le + 1;
  }
  f.transferChunked = f.hasTransferEncoding && lastToken(te) === 'chunked';
  return f;
}

/** Streaming finder of the response head's exact CR LF CR LF, bounded by `maxHeadSize`. */
export class ResponseHeadReader {
  readonly maxHeadSize: number;
  private chunks: Buffer[] = [];
  private have = 0;
  private lineStart = 0;
  private lastByte = 0;
  private lastLfHadCr = false;
  private finished = false;

  constructor(maxHeadSize = DEFAULT_MAX_RESPONSE_HEAD) {
    this.maxHeadSize = maxHeadSize;
  }

  get buffered(): number {
    return this.have;
  }

  /** Ready for the next response head (keepalive, or after a 1xx). */
  reset(): void {
    this.chunks = [];
    this.have = 0;
    this.lineStart = 0;
    this.lastByte = 0;
    this.lastLfHadCr = false;
    this.finished = false;
  }

  /** At node EOF while `need-more`: the bytes held so far, to relay verbatim. */
  flush(): Buffer {
    const out = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
    this.reset();
    this.finished = true;
    return out;
  }

  push(chunk: Buffer): ResponseHeadResult {
    if (this.finished) return { state: 'opaque', data: chunk };
    const base = this.have;
    let i = chunk.indexOf(LF);
    while (i >= 0) {
      const abs = base + i;
      if (abs >= this.maxHeadSize) break;
      const hadCr = (i > 0 ? chunk[i - 1] : this.lastByte) === CR;
      if (hadCr && this.lastLfHadCr && abs - this.lineStart === 1) {
        const size = abs + 1;
        const head =
          base === 0
            ? chunk.subarray(0, i + 1)
            : Buffer.concat([...this.chunks, chunk.subarray(0, i + 1)], size);
        const rest = chunk.subarray(i + 1);
        this.reset();
        this.finished = true;
        return { state: 'done', head, facts: inspectResponseHead(head, size), rest };
      }
      this.lastLfHadCr = hadCr;
      this.lineStart = abs + 1;
      i = chunk.indexOf(LF, i + 1);
    }
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1];
    if (this.have >= this.maxHeadSize) return { state: 'opaque', data: this.flush() };
    return { state: 'need-more' };
  }
}

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
  /** the session is (or became) raw: websockets, raw-body, modifier1 123, chunked input */
  raw: boolean;
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
  /** a 1xx other than 101: relay the head, reset the reader and inspect the next head */
  informational: boolean;
}

/** True for responses that never carry a body (RFC 9110 §6.4.1). */
export function isBodyless(method: string, status: number): boolean {
  return method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304;
}

/**
 * The keepalive / rewrite decision of spec §7–8 as one pure function. Differences from
 * uWSGI: `Connection: close` is added whenever the router will close (issue #2112) and
 * bodyless responses are never chunked.
 */
export function decideKeepalive(
  req: KeepaliveRequestFacts,
  res: ResponseHeadFacts,
  options: KeepaliveOptions,
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
    !req.connectionUpgrade &&
    !req.transferEncoding &&
    !req.surplusBody;
  const responseOk = res.http11 && !res.connectionClose && !res.hasTrailers && res.contentLength !== -2;
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

/**
 * The head to send to the client for `plan`: lines inserted before the blank line;
 * with `connectionClose`, existing Connection/Keep-Alive lines are dropped. Returns the
 * input itself when nothing changes.
 */
export function rewriteResponseHead(head: Buffer, facts: ResponseHeadFacts, plan: ResponsePlan): Buffer {
  let extra = '';
  if (plan.chunk || plan.gzip) extra += TE_CHUNKED;
  if (plan.gzip) extra += CE_GZIP;
  if (plan.connectionClose) extra += CONN_CLOSE;
  if (extra === '') return head;
  const cut = head.length - 2; // the blank line's CR LF
  if (!(plan.connectionClose && facts.hasConnection)) {
    const out = Buffer.allocUnsafe(head.length + extra.length);
    head.copy(out, 0, 0, cut);
    out.write(extra, cut, 'latin1');
    out[out.length - 2] = CR;
    out[out.length - 1] = LF;
    return out;
  }
  // rare: the node sent e.g. `Connection: keep-alive` but the router closes
  const parts: Buffer[] = [];
  let p = 0;
  while (p < cut) {
    let le = head.indexOf(LF, p);
    if (le < 0 || le >= cut) le = cut - 1;
    const colon = head.indexOf(58, p);
    const isConn =
      p > 0 &&
      colon > p &&
      colon < le &&
      (nameIs(head, p, colon, 'connection') || nameIs(head, p, colon, 'keep-alive'));
    if (!isConn) parts.push(head.subarray(p, le + 1));
    p = le + 1;
  }
  parts.push(Buffer.from(`${extra}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}
