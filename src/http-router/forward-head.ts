/**
 * The HTTP/1.1 request head sent to an HTTP (not uwsgi) node. uWSGI 2.0's HTTP router only
 * speaks uwsgi to nodes; this is the proxying the router family grows into, following
 * RFC 9110 §7.6 and common proxy practice:
 * - framing belongs to the router (DESIGN.md): the client's Content-Length and
 *   Transfer-Encoding lines are never copied; the router declares its own —
 *   `Content-Length: N` (exactly the N bytes it forwards) or `Transfer-Encoding: chunked`
 *   (the body re-chunked by chunk-reframer.ts) — so no `Connection` list, duplicate or
 *   obfuscation can make the node find another end of the body than the router did.
 * - hop-by-hop fields dropped: Connection and the fields it lists, Keep-Alive,
 *   Proxy-Connection, TE, Trailer, Upgrade (kept, with `Connection: Upgrade`, for a
 *   websocket upgrade: uWSGI #1155/#2515 broke exactly that). A Connection list never
 *   removes Host (RFC 9110 §7.6.1: it must not name fields the proxy needs).
 * - `Expect` is not forwarded: the router sends the body without waiting (and answers
 *   `100 Continue` to the client itself), so a node that answered early and read the body
 *   as the next request (an Expect desync) cannot happen.
 * - X-Forwarded-For gets the client address appended; X-Forwarded-Proto and
 *   X-Forwarded-Host are set. Incoming X-Forwarded-* and Forwarded fields are kept only
 *   when the peer is a trusted proxy (corerouter/trusted-peers.ts); otherwise they are dropped, so
 *   a client cannot forge its address.
 * - `Via: 1.1 <this router's token>` is appended (RFC 9110 §7.6.3), which is how a
 *   request that comes back to this router is recognised (via.ts: 508).
 * - `Connection: keep-alive` to the node.
 * - a request without Host (HTTP/1.0) gets an empty `Host:`: the node is spoken to in
 *   HTTP/1.1, which requires the field (RFC 9112 §3.2; Node's http server answers 400
 *   without it).
 * Field values come from the parsed head (no CR/LF possible), so no injection here.
 */
import type { HttpRequestHead } from '../protocol/http-request-head.ts';

export interface ForwardHeadInput {
  /** the client address as the router sees it (socket peer or PROXY v1 source) */
  clientAddress: string;
  /** the client spoke TLS to the router */
  https: boolean;
  /** the peer is in the trusted-proxy list: keep its X-Forwarded-* / Forwarded */
  trusted: boolean;
  /** a websocket upgrade (websocket.ts): keep Upgrade, send `Connection: Upgrade` */
  websocket: boolean;
  /** this router's Via received-by token (via.ts) */
  via: string;
}

/** How the request body travels to an HTTP node, or why it cannot. */
export type ForwardFraming =
  /** `length` ≥ 0: exactly that many bytes with `Content-Length`; -1: chunked */
  | { ok: true; length: number }
  | { ok: false; status: 400 | 501; code: 'UWR_ERR_BAD_REQUEST' | 'UWR_ERR_NOT_IMPLEMENTED'; why: string };

/**
 * The one place that decides the body framing for an HTTP node; `buildForwardHead`
 * declares exactly this. The head reader already refused Content-Length together with
 * Transfer-Encoding and differing Content-Lengths.
 */
export function forwardFraming(head: HttpRequestHead): ForwardFraming {
  const te = head.transferEncoding;
  if (te === null) return { ok: true, length: Math.max(head.contentLength, 0) };
  if (!head.chunked) {
    // RFC 9112 §6.3: without a final (single) chunked coding the body has no knowable end
    return {
      ok: false,
      status: 400,
      code: 'UWR_ERR_BAD_REQUEST',
      why: `request Transfer-Encoding "${te}" does not end in one chunked`,
    };
  }
  if (te.indexOf(',') >= 0 && countTokens(te) > 1) {
    // RFC 9112 §6.1: a coding the router does not implement (gzip, identity, …) → 501
    return {
      ok: false,
      status: 501,
      code: 'UWR_ERR_NOT_IMPLEMENTED',
      why: `request Transfer-Encoding "${te}" has codings other than chunked`,
    };
  }
  return { ok: true, length: -1 };
}

function countTokens(list: string): number {
  let n = 0;
  for (const t of list.split(',')) if (t.trim() !== '') n++;
  return n;
}

/** never copied from the client: hop-by-hop, or re-declared by the router */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'transfer-encoding',
  'expect',
]);
/** what a Connection list cannot remove */
const NOT_REMOVABLE = new Set(['host']);

function isForwardedField(lower: string): boolean {
  return lower === 'forwarded' || lower.startsWith('x-forwarded-');
}

export function buildForwardHead(head: HttpRequestHead, bodyLength: number, input: ForwardHeadInput): Buffer {
  // Connection-listed names are hop-by-hop too (RFC 9110 §7.6.1)
  let listed: Set<string> | null = null;
  for (const h of head.headers) {
    if (h.name.length === 10 && h.name.toLowerCase() === 'connection') {
      for (const t of h.value.split(',')) {
        const n = t.trim().toLowerCase();
        // `keep-alive`/`close`/framing names are dropped anyway: no Set for the usual lists
        if (n === '' || NOT_REMOVABLE.has(n) || NOT_FORWARDED.has(n)) continue;
        if (listed === null) listed = new Set();
        listed.add(n);
      }
    }
  }
  let xff: string | null = null;
  let xfProto: string | null = null;
  let xfHost: string | null = null;
  let out = `${head.method} ${head.uri} HTTP/1.1\r\n`;
  for (const h of head.headers) {
    const lower = h.name.toLowerCase();
    if (NOT_FORWARDED.has(lower)) {
      if (lower === 'upgrade' && input.websocket) out += `${h.name}: ${h.value}\r\n`;
      continue;
    }
    if (listed?.has(lower)) continue;
    if (isForwardedField(lower)) {
      if (!input.trusted) continue;
      if (lower === 'x-forwarded-for') {
        xff = xff === null ? h.value : `${xff}, ${h.value}`;
        continue;
      }
      if (lower === 'x-forwarded-proto') {
        xfProto ??= h.value;
        continue;
      }
      if (lower === 'x-forwarded-host') {
        xfHost ??= h.value;
        continue;
      }
    }
    out += `${h.name}: ${h.value}\r\n`;
  }
  // an empty Host field was forwarded by the loop above; only a missing one is added
  if (head.host === null && !head.headers.some((h) => h.name.length === 4 && h.name.toLowerCase() === 'host'))
    out += 'Host: \r\n';
  // the router's own framing (forwardFraming): what the body pump sends, nothing else
  if (bodyLength === -1) out += 'Transfer-Encoding: chunked\r\n';
  else if (bodyLength > 0 || head.contentLength === 0) out += `Content-Length: ${bodyLength}\r\n`;
  out += `X-Forwarded-For: ${xff === null ? input.clientAddress : `${xff}, ${input.clientAddress}`}\r\n`;
  out += `X-Forwarded-Proto: ${xfProto ?? (input.https ? 'https' : 'http')}\r\n`;
  const host = xfHost ?? head.host;
  if (host !== null) out += `X-Forwarded-Host: ${host}\r\n`;
  out += `Via: 1.1 ${input.via}\r\n`;
  out += input.websocket ? 'Connection: Upgrade\r\n\r\n' : 'Connection: keep-alive\r\n\r\n';
  return Buffer.from(out, 'latin1');
}
