/**
 * The shapes of an HTTP/1.x request line beyond METHOD SP TARGET SP VERSION: which versions
 * are served and which request-target forms (RFC 9112 §2.3, §3.2). Pure; never throws.
 *
 * uWSGI forwards every shape as a request (an HTTP/2 preface becomes `PRI *` with
 * SERVER_PROTOCOL `HTTP/2.0`, an absolute-form target becomes PATH_INFO `http://host/p`).
 * Here, as nginx does:
 * - `HTTP/1.0`, `HTTP/1.1` as sent; `HTTP/1.x` (x ≥ 2) is served as HTTP/1.1 (RFC 9110 §2.5:
 *   a higher minor version is processed as the highest one implemented); other versions → 505;
 *   the HTTP/2 connection preface (`PRI * HTTP/2.0`) on this cleartext HTTP/1 port → 400;
 *   a protocol name other than HTTP (RTSP: `http-manage-rtsp` is not implemented) → 400.
 * - origin-form (`/path?q`) as sent; asterisk-form (`*`) for OPTIONS only;
 * - absolute-form (`http://authority/path?q`, `https://…`): the authority replaces Host for
 *   routing and for what the node sees (RFC 9112 §3.2.2), the path (or `/`) becomes the
 *   request URI; userinfo (`user@`) is refused (RFC 9110 §4.2.4), other schemes too;
 * - CONNECT (authority-form) → 501: the router tunnels to its nodes, never to a client's
 *   choice of host;
 * - anything else (a relative `foo/bar`) → 400.
 */

export type RequestLineReason =
  | 'bad-protocol'
  | 'unsupported-version'
  | 'http2-preface'
  | 'connect-not-supported'
  | 'asterisk-not-options'
  | 'bad-target'
  | 'userinfo-in-target'
  | 'bad-authority'
  | 'host-too-long';

/** `HTTP/1.1` when the version is served (normalised: `HTTP/1.7` → `HTTP/1.1`), else why not. */
export type VersionResult = { ok: true; protocol: string } | { ok: false; reason: RequestLineReason };

export type TargetResult =
  | {
      ok: true;
      /** origin-form URI for REQUEST_URI/PATH_INFO and the node's request line */
      uri: string;
      /** the absolute-form's authority (the routing key), null for other forms */
      authority: string | null;
    }
  | { ok: false; reason: RequestLineReason };

const HTTP_1_0 = 'HTTP/1.0';
const HTTP_1_1 = 'HTTP/1.1';

/**
 * `buf[s, e)` = the request line's version, already known to be NAME "/" DIGIT "." DIGIT
 * (upper-case NAME). `method` and `target` tell the HTTP/2 preface apart.
 */
export function readHttpVersion(
  buf: Buffer,
  s: number,
  e: number,
  method: string,
  target: string,
): VersionResult {
  // "HTTP/" + D "." D
  if (e - s !== 8 || buf.toString('latin1', s, s + 5) !== 'HTTP/')
    return { ok: false, reason: 'bad-protocol' };
  const major = buf[s + 5] - 48;
  const minor = buf[s + 7] - 48;
  if (major === 1) {
    if (minor === 1) return { ok: true, protocol: HTTP_1_1 };
    if (minor === 0) return { ok: true, protocol: HTTP_1_0 };
    return { ok: true, protocol: HTTP_1_1 };
  }
  // RFC 9113 §3.4: the preface starts `PRI * HTTP/2.0`; a cleartext HTTP/1 port refuses it
  if (major === 2 && minor === 0 && method === 'PRI' && target === '*') {
    return { ok: false, reason: 'http2-preface' };
  }
  return { ok: false, reason: 'unsupported-version' };
}

/** RFC 3986 authority bytes: unreserved, pct-encoded, sub-delims, `:`, `[`, `]` (no `@`). */
const AUTHORITY_OK = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) AUTHORITY_OK[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) AUTHORITY_OK[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) AUTHORITY_OK[c] = 1;
for (const c of "-._~%!$&'()*+,;=:[]") AUTHORITY_OK[c.charCodeAt(0)] = 1;

/** routing keys are ≤ 255 bytes (spec: uwsgi-protocol.md §5, http-router.md §4) */
const MAX_AUTHORITY = 255;

/** Length of `http://` / `https://` (either case) at the start of `t`, else 0. */
function httpSchemeLength(t: string): number {
  if (t.length < 7) return 0;
  // `| 0x20` folds A-Z: only `H`/`h` become 0x68, `T`/`t` 0x74, and so on
  const h = t.charCodeAt(0) | 0x20;
  const t1 = t.charCodeAt(1) | 0x20;
  const t2 = t.charCodeAt(2) | 0x20;
  const p = t.charCodeAt(3) | 0x20;
  if (h !== 0x68 || t1 !== 0x74 || t2 !== 0x74 || p !== 0x70) return 0;
  const i = (t.charCodeAt(4) | 0x20) === 0x73 ? 5 : 4;
  return t.startsWith('://', i) ? i + 3 : 0;
}

/** Classifies the request-target `target` of a `method` request (RFC 9112 §3.2). */
export function readRequestTarget(method: string, target: string): TargetResult {
  if (method === 'CONNECT') return { ok: false, reason: 'connect-not-supported' };
  const first = target.charCodeAt(0);
  if (first === 0x2f /* / */) return { ok: true, uri: target, authority: null };
  if (target === '*') {
    return method === 'OPTIONS'
      ? { ok: true, uri: target, authority: null }
      : { ok: false, reason: 'asterisk-not-options' };
  }
  const start = httpSchemeLength(target);
  if (start === 0) return { ok: false, reason: 'bad-target' };
  let end = start;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break; // / ? #
    if (c === 0x40) return { ok: false, reason: 'userinfo-in-target' };
    if (c >= 128 || AUTHORITY_OK[c] !== 1) return { ok: false, reason: 'bad-authority' };
    end++;
  }
  if (end === start) return { ok: false, reason: 'bad-authority' };
  if (end - start > MAX_AUTHORITY) return { ok: false, reason: 'host-too-long' };
  const authority = target.slice(start, end);
  // RFC 9112 §3.2.1: an empty path is sent as "/"
  const c = target.charCodeAt(end);
  const uri = end === target.length ? '/' : c === 0x2f ? target.slice(end) : `/${target.slice(end)}`;
  return { ok: true, uri, authority };
}
