/**
 * Incremental HTTP/1.x request-head reader for the HTTP router (spec: http-router.md §1).
 * Fed socket chunks of any split; finds the exact CR LF CR LF, then parses an optional
 * PROXY v1 line, the request line and the header lines. Never throws: every outcome is a
 * typed result carrying the HTTP status the router should answer.
 *
 * Stricter than uWSGI on purpose (request smuggling defences, all answered with 400):
 * bare LF / bare CR, obs-fold, whitespace before the colon, non-token header names,
 * control bytes in values, Content-Length + Transfer-Encoding, differing or non-numeric
 * Content-Length, a second Host, Host > 255 bytes, a Transfer-Encoding whose final coding
 * is not `chunked` (RFC 9112 §6.3) or in an HTTP/1.0 request (RFC 9112 §6.1). uWSGI hangs
 * on bare LF and closes silently on the rest; it never answers (spec §10).
 * Request-line shapes (versions, target forms, CONNECT): http-request-line.ts. Expect
 * members other than `100-continue` get 417 (RFC 9110 §10.1.1); in HTTP/1.0 the field is
 * ignored, as that section requires.
 *
 * Strings are latin1 "binary strings" (one char per byte), like src/protocol/uwsgi.ts.
 */

import { forEachToken, parseContentLength } from './http-field-values.ts';
import { type ProxyV1, parseProxyV1 } from './http-proxy-v1.ts';
import { type RequestLineReason, readHttpVersion, readRequestTarget } from './http-request-line.ts';

export type { ProxyV1 } from './http-proxy-v1.ts';

/**
 * 16 KiB, what the proxies in front of the same kind of node use: Node's
 * `--max-http-header-size` (16 KiB) and HAProxy's `tune.bufsize` (16 KiB, the whole head must
 * fit); nginx allows 8 KiB per line (`large_client_header_buffers 4 8k`). uWSGI's 64 KiB let
 * through heads that its own nodes then drop (their `buffer-size` is 4096). `http-max-head`
 * raises it.
 */
export const DEFAULT_MAX_HEAD_SIZE = 16384;
/** routing keys are ≤ 255 bytes (spec: uwsgi-protocol.md §5, http-router.md §4) */
export const MAX_HOST_LENGTH = 255;

export interface HttpHeaderField {
  /** raw name as sent (case kept) */
  readonly name: string;
  /** value with leading/trailing SP/HTAB removed */
  readonly value: string;
}

export interface HttpRequestHead {
  readonly method: string;
  /**
   * REQUEST_URI: the request-target as sent, except an absolute-form one, which becomes
   * its origin-form (path and query; `/` when the path is empty)
   */
  readonly uri: string;
  /** the absolute-form target's authority (it replaced Host), else null */
  readonly authority: string | null;
  /** `HTTP/1.0` or `HTTP/1.1` (a later HTTP/1.x is served as 1.1) */
  readonly protocol: string;
  /**
   * header fields in wire order; a repeated identical Content-Length is kept once; with an
   * absolute-form target, Host carries the authority (added at the end when absent)
   */
  readonly headers: HttpHeaderField[];
  /** Host value (routing key candidate), null when absent or empty (spec §4) */
  readonly host: string | null;
  /** -1 when there is no Content-Length */
  readonly contentLength: number;
  /** all Transfer-Encoding values joined with ", ", null when absent */
  readonly transferEncoding: string | null;
  /** the final transfer coding is `chunked` */
  readonly chunked: boolean;
  /** Connection tokens (case-insensitive, comma lists) */
  readonly connectionClose: boolean;
  readonly connectionUpgrade: boolean;
  readonly connectionKeepAlive: boolean;
  /** an HTTP/1.1 request with `Expect: 100-continue` (value compared case-insensitively) */
  readonly expectContinue: boolean;
  /** Accept-Encoding contains `gzip` (plain substring, spec §8) */
  readonly acceptGzip: boolean;
  /** PROXY v1 line, when enabled and present */
  readonly proxy: ProxyV1 | null;
  /** bytes of the head including the final CR LF CR LF */
  readonly headSize: number;
}

export type HeadErrorReason =
  | 'head-too-large'
  | 'uri-too-long'
  | 'bare-lf'
  | 'bare-cr'
  | 'empty-head'
  | 'bad-proxy-line'
  | 'bad-request-line'
  | 'bad-method'
  | 'bad-uri'
  | 'bad-protocol'
  | 'obs-fold'
  | 'missing-colon'
  | 'space-before-colon'
  | 'bad-header-name'
  | 'bad-header-value'
  | 'bad-content-length'
  | 'conflicting-content-length'
  | 'content-length-and-transfer-encoding'
  | 'bad-transfer-encoding'
  | 'duplicate-host'
  | 'transfer-encoding-in-http10'
  | 'unsupported-transfer-coding'
  | 'unsupported-expectation'
  | RequestLineReason;

export interface HeadError {
  ok: false;
  code: 'UWR_ERR_BAD_REQUEST' | 'UWR_ERR_HEADERS_TOO_LARGE' | 'UWR_ERR_NOT_SUPPORTED';
  status: 400 | 417 | 431 | 501 | 505;
  reason: HeadErrorReason;
}

export type HeadParseResult = { ok: true; head: HttpRequestHead } | HeadError;

export type HeadReadResult =
  | { state: 'need-more' }
  | {
      state: 'done';
      head: HttpRequestHead /** bytes after the head (body start), maybe empty */;
      rest: Buffer;
    }
  | ({ state: 'error' } & Omit<HeadError, 'ok'>);

export interface HttpHeadOptions {
  /** largest head accepted, CR LF CR LF included (default 65536, spec §1) → 431 */
  maxHeadSize?: number;
  /** largest request-target (default 65535: it must fit one uwsgi var) → 431 */
  maxUriLength?: number;
  /** accept a leading PROXY v1 line (`http-enable-proxy-protocol`) */
  proxyProtocol?: boolean;
  /**
   * `http-chunked-input`: a chunked body is streamed still chunked, so codings before the
   * final `chunked` (`gzip, chunked`) pass; without it the router de-chunks the body and
   * refuses such codings with 501 (it would have to undo them)
   */
  chunkedInput?: boolean;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** RFC 9110 tchar */
const TCHAR = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) TCHAR[c] = 1;
for (const c of '"(),/:;<=>?@[\\]{}') TCHAR[c.charCodeAt(0)] = 0;

/** field-value bytes: HTAB, VCHAR, SP, obs-text; never NUL/CR/LF/other CTL/DEL */
const VALUE_OK = new Uint8Array(256);
VALUE_OK[HTAB] = 1;
for (let c = 0x20; c < 0x7f; c++) VALUE_OK[c] = 1;
for (let c = 0x80; c < 0x100; c++) VALUE_OK[c] = 1;

/** request-target bytes: visible ASCII and obs-text (raw UTF-8 paths happen); no SP/CTL */
const URI_OK = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) URI_OK[c] = 1;
for (let c = 0x80; c < 0x100; c++) URI_OK[c] = 1;

export function fail(reason: HeadErrorReason): HeadError {
  switch (reason) {
    case 'head-too-large':
    case 'uri-too-long':
      return { ok: false, code: 'UWR_ERR_HEADERS_TOO_LARGE', status: 431, reason };
    case 'unsupported-version':
      return { ok: false, code: 'UWR_ERR_NOT_SUPPORTED', status: 505, reason };
    case 'connect-not-supported':
    case 'unsupported-transfer-coding':
      return { ok: false, code: 'UWR_ERR_NOT_SUPPORTED', status: 501, reason };
    case 'unsupported-expectation':
      return { ok: false, code: 'UWR_ERR_NOT_SUPPORTED', status: 417, reason };
    default:
      return { ok: false, code: 'UWR_ERR_BAD_REQUEST', status: 400, reason };
  }
}

/** Case-insensitive compare of buf[s, e) with a lower-case ASCII token. */
function nameIs(buf: Buffer, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((buf[s + i] | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** NAME "/" DIGIT "." DIGIT with NAME = 1*upper-case letters (HTTP, RTSP: spec §6). */
function protocolOk(buf: Buffer, s: number, e: number): boolean {
  let i = s;
  while (i < e && buf[i] >= 65 && buf[i] <= 90) i++;
  if (i === s || e - i !== 4) return false;
  return (
    buf[i] === 47 &&
    buf[i + 1] >= 48 &&
    buf[i + 1] <= 57 &&
    buf[i + 2] === 46 &&
    buf[i + 3] >= 48 &&
    buf[i + 3] <= 57
  );
}

/**
 * Parses a complete head `buf[0, end)` (end = just after CR LF CR LF). Pure; used by the
 * reader and directly by tests/benchmarks.
 */
export function parseRequestHead(buf: Buffer, end: number, options: HttpHeadOptions = {}): HeadParseResult {
  const maxUri = options.maxUriLength ?? 0xffff;
  // Every LF must follow a CR; a CR must precede an LF (no bare CR inside lines).
  let p = 0;
  let lineEnd = buf.indexOf(LF, p);
  if (lineEnd < 0 || lineEnd >= end) return fail('bare-cr');
  if (lineEnd === 0 || buf[lineEnd - 1] !== CR) return fail('bare-lf');
  if (lineEnd === 1) return fail('empty-head');

  let proxy: ProxyV1 | null = null;
  if (options.proxyProtocol && lineEnd - 1 >= 6 && buf.toString('latin1', 0, 6) === 'PROXY ') {
    const parsed = parseProxyV1(buf, 0, lineEnd - 1);
    if (!parsed) return fail('bad-proxy-line');
    proxy = parsed;
    p = lineEnd + 1;
    lineEnd = buf.indexOf(LF, p);
    if (lineEnd < 0 || lineEnd >= end) return fail('bare-cr');
    if (buf[lineEnd - 1] !== CR) return fail('bare-lf');
    if (lineEnd - p === 1) return fail('empty-head');
  }

  // Request line: METHOD SP URI SP PROTO (exactly single spaces).
  const rlEnd = lineEnd - 1;
  let i = p;
  while (i < rlEnd && TCHAR[buf[i]] === 1) i++;
  if (i === p) return fail('bad-method');
  if (i >= rlEnd || buf[i] !== SP) return fail(i >= rlEnd ? 'bad-request-line' : 'bad-method');
  const method = buf.toString('latin1', p, i);
  const uriStart = ++i;
  while (i < rlEnd && URI_OK[buf[i]] === 1) i++;
  if (i === uriStart) return fail('bad-uri');
  if (i - uriStart > maxUri) return fail('uri-too-long');
  if (i >= rlEnd) return fail('bad-request-line');
  if (buf[i] !== SP) return fail(buf[i] === CR ? 'bare-cr' : 'bad-uri');
  const target = buf.toString('latin1', uriStart, i);
  if (!protocolOk(buf, i + 1, rlEnd)) return fail('bad-protocol');
  const version = readHttpVersion(buf, i + 1, rlEnd, method, target);
  if (!version.ok) return fail(version.reason);
  const protocol = version.protocol;
  const form = readRequestTarget(method, target);
  if (!form.ok) return fail(form.reason);
  const http11 = protocol === 'HTTP/1.1';

  const headers: HttpHeaderField[] = [];
  let host: string | null = null;
  let hostSeen = false;
  let contentLength = -1;
  let transferEncoding: string | null = null;
  let connectionClose = false;
  let connectionUpgrade = false;
  let connectionKeepAlive = false;
  let expectContinue = false;
  let expectOther = false;
  let hostIndex = -1;
  let acceptGzip = false;

  p = lineEnd + 1;
  while (p < end) {
    lineEnd = buf.indexOf(LF, p);
    if (lineEnd < 0 || lineEnd >= end) return fail('bare-cr');
    if (buf[lineEnd - 1] !== CR) return fail('bare-lf');
    const le = lineEnd - 1;
    if (le === p) break; // the blank line
    const first = buf[p];
    if (first === SP || first === HTAB) return fail('obs-fold');
    let c = p;
    while (c < le && TCHAR[buf[c]] === 1) c++;
    if (c === le) return fail('missing-colon');
    if (buf[c] !== COLON) {
      if (buf[c] === SP || buf[c] === HTAB) return fail('space-before-colon');
      return fail(buf[c] === CR ? 'bare-cr' : 'bad-header-name');
    }
    if (c === p) return fail('bad-header-name');
    let vs = c + 1;
    let ve = le;
    for (let k = vs; k < ve; k++) {
      if (VALUE_OK[buf[k]] !== 1) return fail(buf[k] === CR ? 'bare-cr' : 'bad-header-value');
    }
    while (vs < ve && (buf[vs] === SP || buf[vs] === HTAB)) vs++;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    const name = buf.toString('latin1', p, c);
    let value = buf.toString('latin1', vs, ve);
    let keep = true;
    const nlen = c - p;
    if (nlen === 4 && nameIs(buf, p, c, 'host')) {
      if (hostSeen) return fail('duplicate-host');
      hostSeen = true;
      if (value.length > MAX_HOST_LENGTH) return fail('host-too-long');
      host = value.length > 0 ? value : null;
      hostIndex = headers.length;
    } else if (nlen === 14 && nameIs(buf, p, c, 'content-length')) {
      const n = parseContentLength(value);
      if (n < 0) return fail('bad-content-length');
      if (contentLength >= 0) {
        if (n !== contentLength) return fail('conflicting-content-length');
        keep = false; // identical duplicate: merged (one CONTENT_LENGTH var)
      }
      contentLength = n;
      value = String(n);
    } else if (nlen === 17 && nameIs(buf, p, c, 'transfer-encoding')) {
      transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
    } else if (nlen === 10 && nameIs(buf, p, c, 'connection')) {
      forEachToken(value, (t) => {
        if (t === 'close') connectionClose = true;
        else if (t === 'upgrade') connectionUpgrade = true;
        else if (t === 'keep-alive') connectionKeepAlive = true;
      });
    } else if (nlen === 6 && nameIs(buf, p, c, 'expect')) {
      forEachToken(value, (t) => {
        if (t === '100-continue') expectContinue = true;
        else expectOther = true;
      });
    } else if (nlen === 15 && nameIs(buf, p, c, 'accept-encoding')) {
      if (value.includes('gzip')) acceptGzip = true;
    }
    if (keep) headers.push({ name, value });
    p = lineEnd + 1;
  }

  let chunked = false;
  if (transferEncoding !== null) {
    if (contentLength >= 0) return fail('content-length-and-transfer-encoding');
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing
    if (!http11) return fail('transfer-encoding-in-http10');
    let count = 0;
    let chunkedCount = 0;
    let last = '';
    forEachToken(transferEncoding, (t) => {
      count++;
      last = t;
      if (t === 'chunked') chunkedCount++;
    });
    chunked = count > 0 && last === 'chunked' && chunkedCount === 1;
    // RFC 9112 §6.3: without a final chunked the body has no knowable end (uWSGI dropped it)
    if (!chunked) return fail('bad-transfer-encoding');
    if (count > 1 && !options.chunkedInput) return fail('unsupported-transfer-coding');
  }
  // RFC 9110 §10.1.1: HTTP/1.0 expectations are ignored; unknown ones MAY get 417
  if (!http11) expectContinue = false;
  else if (expectOther) return fail('unsupported-expectation');

  let uri = target;
  if (form.authority !== null) {
    // RFC 9112 §3.2.2: the authority replaces Host, for routing and for the node
    uri = form.uri;
    host = form.authority;
    const field = { name: hostIndex >= 0 ? headers[hostIndex].name : 'Host', value: form.authority };
    if (hostIndex >= 0) headers[hostIndex] = field;
    else headers.push(field);
  }

  return {
    ok: true,
    head: {
      method,
      uri,
      authority: form.authority,
      protocol,
      headers,
      host,
      contentLength,
      transferEncoding,
      chunked,
      connectionClose,
      connectionUpgrade,
      connectionKeepAlive,
      expectContinue,
      acceptGzip,
      proxy,
      headSize: end,
    },
  };
}
