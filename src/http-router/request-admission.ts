/**
 * What happens to a parsed request before any node is chosen (spec: http-router.md §5): a
 * body over `http-max-body` is refused, `Expect: 100-continue` is answered now (uWSGI's
 * `http-manage-expect`), later (`http-auto-continue`: when the body starts going to the node;
 * uwsgi nodes never send 100 and Expect is not forwarded to HTTP nodes, forward-head.ts), and a
 * chunked body without `http-chunked-input` is stored de-chunked first (stored-body.ts).
 * Pure: the verdict is a bit set, no allocation.
 */
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import type { KeepaliveRequestFacts } from './response-head.ts';
import type { HttpRouterSettings } from './settings.ts';

/** 413: Content-Length over `http-max-body` (before a body byte is read) */
export const REFUSE_BODY_TOO_LARGE = 1;
/** uWSGI's `http-manage-expect=N` answer: the 413 line, then close (spec §5) */
export const REFUSE_EXPECTED_BODY = 2;
/** `http-manage-expect`: 100 Continue before connecting (spec §5) */
export const CONTINUE_NOW = 4;
/** `http-auto-continue`: 100 Continue when the body is wanted by a uwsgi node or the store */
export const CONTINUE_WHEN_WANTED = 8;
/** de-chunk and store the body, then route with its length */
export const STORE_BODY = 16;

type Settings = Pick<HttpRouterSettings, 'maxBody' | 'manageExpect' | 'autoContinue' | 'chunkedInput'>;

export function admitRequest(head: HttpRequestHead, s: Settings, raw: boolean): number {
  const length = head.contentLength;
  if (s.maxBody > 0 && length > s.maxBody) return REFUSE_BODY_TOO_LARGE;
  let verdict = 0;
  // raw modes relay bytes untouched: the node (or what is behind it) answers the expectation
  if (head.expectContinue && !raw) {
    if (s.manageExpect > 0) {
      if (s.manageExpect > 1 && length > s.manageExpect) return REFUSE_EXPECTED_BODY;
      verdict |= CONTINUE_NOW;
    } else if (s.autoContinue && (length > 0 || head.chunked)) {
      verdict |= CONTINUE_WHEN_WANTED;
    }
  }
  if (head.chunked && !s.chunkedInput && !raw) verdict |= STORE_BODY;
  return verdict;
}

/** What the request contributes to the keepalive decision of its response (spec §7). */
export function keepaliveFacts(
  head: HttpRequestHead,
  s: Pick<HttpRouterSettings, 'keepalive'>,
  raw: boolean,
  websocket: boolean,
): KeepaliveRequestFacts {
  return {
    keepaliveEnabled: s.keepalive,
    protocol: head.protocol,
    method: head.method,
    connectionClose: head.connectionClose,
    connectionUpgrade: head.connectionUpgrade,
    transferEncoding: head.transferEncoding !== null,
    raw,
    upgrade: websocket,
    surplusBody: false,
    acceptGzip: head.acceptGzip,
  };
}
