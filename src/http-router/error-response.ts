/**
 * The router's own answers. uWSGI's HTTP router never writes an error page: it closes
 * with an empty reply (spec: http-router.md §10; users asked for 502/503 in #583/#592).
 * We answer with a short plain-text response and close:
 * - 400 malformed head or smuggling attempt, 413 body too large, 431 head/vars too large,
 *   417 an Expect other than 100-continue, 501 CONNECT or a transfer coding the router does
 *   not undo, 505 an HTTP version other than 1.x; 500 a de-chunked body could not be stored;
 * - 404 unknown key ("no such host configured here"): the key was never routable;
 * - 503 the key exists but has no live node now, with `Retry-After` (a node that crashed
 *   is usually back, or re-subscribed, within seconds);
 * - 502 every connect attempt failed, or the node closed without answering (with the
 *   likely cause when the vars outgrew uWSGI's default `buffer-size`), or its answer is
 *   not valid HTTP/1.x; 504 a node connect/answer timed out;
 * - 508 the request came back to this router (a forwarding loop).
 * Bodies name the problem, never internals. All buffers are built once at load time.
 * Also the fixed lines uWSGI does send: `100 Continue` / `413` for Expect (§5) and the
 * `http-to-https` 301 (§9).
 */
import type { UwrErrorCode } from '../errors.ts';

export type RouterErrorStatus = 400 | 404 | 413 | 417 | 431 | 500 | 501 | 502 | 503 | 504 | 505 | 508;

/**
 * The level of the log line of an error answer: the router's own failure (500: a body it
 * could not store) is an error, a node or routing failure (502, 503, 504, loops) a warning,
 * the client's request (4xx, 501, 505) information.
 */
export function logLevelOf(status: RouterErrorStatus): 'info' | 'warn' | 'error' {
  if (status === 500) return 'error';
  return status === 502 || status === 503 || status === 504 || status === 508 ? 'warn' : 'info';
}

const TEXT: Record<RouterErrorStatus, readonly [reason: string, body: string]> = {
  400: ['Bad Request', 'bad request\n'],
  404: ['Not Found', 'no such host is configured here\n'],
  413: ['Content Too Large', 'request body too large\n'],
  417: ['Expectation Failed', 'only the expectation 100-continue is supported\n'],
  431: ['Request Header Fields Too Large', 'request header fields too large\n'],
  500: ['Internal Server Error', 'the router could not store the request body\n'],
  501: ['Not Implemented', 'this request method or transfer coding is not supported here\n'],
  502: ['Bad Gateway', 'could not connect to any node for this host\n'],
  503: ['Service Unavailable', 'no node is available for this host\n'],
  504: ['Gateway Timeout', 'the node did not answer in time\n'],
  505: ['HTTP Version Not Supported', 'only HTTP/1.0 and HTTP/1.1 are supported here\n'],
  508: ['Loop Detected', 'this request came back to the router that forwarded it\n'],
};

/** seconds a 503 asks the client to wait before retrying (RFC 9110 §10.2.3) */
export const RETRY_AFTER_SECONDS = 5;

function build(status: RouterErrorStatus, body = TEXT[status][1]): Buffer {
  const retry = status === 503 ? `Retry-After: ${RETRY_AFTER_SECONDS}\r\n` : '';
  return Buffer.from(
    `HTTP/1.1 ${status} ${TEXT[status][0]}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${retry}Connection: close\r\n\r\n${body}`,
    'latin1',
  );
}

const PREBUILT = new Map<RouterErrorStatus, Buffer>(
  ([400, 404, 413, 417, 431, 500, 501, 502, 503, 504, 505, 508] as const).map((s) => [s, build(s)]),
);

/** 502 once connected: the node closed without a byte of response. */
export const NODE_CLOSED_502 = build(502, 'the node closed the connection without answering\n');

/** 503 for a client over `--http-max-connections` (corerouter/connection-limit.ts) */
export const TOO_MANY_CONNECTIONS_503 = build(
  503,
  'too many connections to this server; try again shortly\n',
);

/** 400 for plain HTTP sent to an HTTPS listener (nginx answers the same case with its 497) */
export const PLAIN_HTTP_ON_HTTPS_400 = build(
  400,
  'this port speaks HTTPS: a plain HTTP request was sent to it (use an https:// URL)\n',
);

/** 502 when a node was reached but its answer is not valid HTTP/1.x */
const BAD_ANSWER_502 = build(502, 'the node for this host did not send a valid answer\n');

/**
 * The complete response for `status` (shared buffer: do not modify); `code` picks the
 * 502 body that says what happened (no connection, no answer, or no valid answer).
 */
export function errorResponse(status: RouterErrorStatus, code?: string): Buffer {
  if (status === 502) {
    if (code === 'UWR_ERR_BAD_RESPONSE') return BAD_ANSWER_502;
    if (code === 'UWR_ERR_BACKEND_CLOSED') return NODE_CLOSED_502;
  }
  return PREBUILT.get(status)!;
}

/** uWSGI's default `buffer-size`: a node drops a request whose vars are larger (spec: uwsgi-protocol.md §5). */
export const UWSGI_DEFAULT_BUFFER_SIZE = 4096;

/** 502 when the closed node was sent vars over UWSGI_DEFAULT_BUFFER_SIZE. */
export const NODE_BUFFER_SIZE_502 = build(
  502,
  `the node closed the connection without answering; the request headers exceed ${UWSGI_DEFAULT_BUFFER_SIZE} bytes of uwsgi vars, the default buffer-size of uWSGI nodes: the node's --buffer-size is the likely cause\n`,
);

/** Which answer a failure code gets (logs/stats count by the code itself). */
export function statusForError(code: UwrErrorCode): RouterErrorStatus {
  switch (code) {
    case 'UWR_ERR_HEADERS_TOO_LARGE':
    case 'UWR_ERR_PACKET_TOO_LARGE':
      return 431;
    case 'UWR_ERR_BODY_TOO_LARGE':
      return 413;
    case 'UWR_ERR_NO_KEY':
      return 404;
    case 'UWR_ERR_NO_NODE':
      return 503;
    case 'UWR_ERR_CONNECT':
    case 'UWR_ERR_BACKEND_CLOSED':
    case 'UWR_ERR_BAD_RESPONSE':
      return 502;
    case 'UWR_ERR_NOT_IMPLEMENTED':
      return 501;
    case 'UWR_ERR_LOOP_DETECTED':
      return 508;
    case 'UWR_ERR_CONNECT_TIMEOUT':
    case 'UWR_ERR_TIMEOUT':
      return 504;
    default:
      return 400;
  }
}

/** spec §5: `http-manage-expect` answers */
export const CONTINUE_100 = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
export const EXPECT_TOO_LARGE_413 = Buffer.from('HTTP/1.1 413 Request Entity Too Large\r\n\r\n', 'latin1');

/** The routing key without its `:port` (`[::1]:8443` → `[::1]`). */
export function hostWithoutPort(key: string): string {
  if (key.startsWith('[')) {
    const close = key.indexOf(']');
    return close < 0 ? key : key.slice(0, close + 1);
  }
  const colon = key.indexOf(':');
  return colon < 0 ? key : key.slice(0, colon);
}

/**
 * `http-to-https` (spec §9): `Location: https://HOST[:PORT]URI` with HOST = the routing key
 * without `:port` (hostname when there is no Host), URI = the raw request URI. uWSGI sends
 * no body and no Content-Length; we add `Content-Length: 0` and `Connection: close` so
 * clients that reuse connections do not wait (the #2112 lesson). Inputs come from the
 * parsed head, which refuses CR/LF, so they cannot inject lines.
 */
export function redirectToHttps(key: string, port: string | null, uri: string): Buffer {
  const host = hostWithoutPort(key);
  const p = port ? `:${port}` : '';
  return Buffer.from(
    `HTTP/1.1 301 Moved Permanently\r\nLocation: https://${host}${p}${uri}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    'latin1',
  );
}
