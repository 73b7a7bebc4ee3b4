/**
 * The HTTP/1.1 request head sent to an HTTP (not uwsgi) node. uWSGI 2.0's HTTP router only
 * speaks uwsgi to nodes; this is the proxying the router family grows into, following
 * RFC 9110 §7.6 and common proxy practice:
 * - hop-by-hop fields dropped: Connection and the fields it lists, Keep-Alive,
 *   Proxy-Connection, TE, Trailer, Upgrade (kept, with `Connection: Upgrade`, for a
 *   websocket upgrade: uWSGI #1155/#2515 broke exactly that). Transfer-Encoding stays:
 *   a chunked request body is relayed still chunked (`http-chunked-input`).
 * - X-Forwarded-For gets the client address appended; X-Forwarded-Proto and
 *   X-Forwarded-Host are set. Incoming X-Forwarded-* and Forwarded fields are kept only
 *   when the peer is a trusted proxy (trusted-proxies.ts); otherwise they are dropped, so
 *   a client cannot forge its address.
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
}

const ALWAYS_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);

function isForwardedField(lower: string): boolean {
  return lower === 'forwarded' || lower.startsWith('x-forwarded-');
}

export function buildForwardHead(head: HttpRequestHead, input: ForwardHeadInput): Buffer {
  // Connection-listed names are hop-by-hop too (RFC 9110 §7.6.1)
  let listed: Set<string> | null = null;
  for (const h of head.headers) {
    if (h.name.length === 10 && h.name.toLowerCase() === 'connection') {
      for (const t of h.value.split(',')) {
        const n = t.trim().toLowerCase();
        if (n === '') continue;
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
    if (ALWAYS_HOP.has(lower)) {
      if (lower === 'upgrade' && input.websocket) out += `${h.name}: ${h.value}\r\n`;
      continue;
    }
    if (listed?.has(lower) && !(input.websocket && lower === 'upgrade')) continue;
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
  out += `X-Forwarded-For: ${xff === null ? input.clientAddress : `${xff}, ${input.clientAddress}`}\r\n`;
  out += `X-Forwarded-Proto: ${xfProto ?? (input.https ? 'https' : 'http')}\r\n`;
  const host = xfHost ?? head.host;
  if (host !== null) out += `X-Forwarded-Host: ${host}\r\n`;
  out += input.websocket ? 'Connection: Upgrade\r\n\r\n' : 'Connection: keep-alive\r\n\r\n';
  return Buffer.from(out, 'latin1');
}
