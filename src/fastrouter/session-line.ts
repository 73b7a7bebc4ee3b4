/**
 * A fastrouter session's line in the request log (src/request-log.ts): the request as the
 * uwsgi vars say it (REQUEST_METHOD, REQUEST_URI, SERVER_PROTOCOL; `{N vars in B bytes}` is
 * the packet's), the status from the node's first bytes (`HTTP/1.x NNN`, what uWSGI nodes
 * answer; 0 when the answer does not start so), the bytes relayed each way.
 * Read only when a request log is configured: a second walk over the vars, no cost else.
 */
import { UWSGI_HEADER_SIZE, walkVars } from '../protocol/uwsgi.ts';
import type { RequestLine } from '../request-line.ts';

const METHOD = Buffer.from('REQUEST_METHOD');
const URI = Buffer.from('REQUEST_URI');
const PROTOCOL = Buffer.from('SERVER_PROTOCOL');

/** Begins `line` from a complete uwsgi head (4-byte header + vars block). */
export function beginFastrouterLine(line: RequestLine, head: Buffer): void {
  let method = '-';
  let uri = '-';
  let protocol = '-';
  let vars = 0;
  walkVars(head, UWSGI_HEADER_SIZE, head.length, (b, s, e, vs, ve) => {
    vars++;
    const n = e - s;
    if (n === METHOD.length && METHOD.compare(b, s, e) === 0) method = b.toString('latin1', vs, ve);
    else if (n === URI.length && URI.compare(b, s, e) === 0) uri = b.toString('latin1', vs, ve);
    else if (n === PROTOCOL.length && PROTOCOL.compare(b, s, e) === 0)
      protocol = b.toString('latin1', vs, ve);
    return true;
  });
  line.begin(method || '-', uri || '-', protocol || '-', vars, head.length - UWSGI_HEADER_SIZE);
}

/** The status of an answer starting `HTTP/1.x NNN` (0 otherwise). */
export function statusOfAnswer(first: Buffer): number {
  if (first.length < 12 || first.toString('latin1', 0, 7) !== 'HTTP/1.' || first[8] !== 32) return 0;
  const a = first[9] - 48;
  const b = first[10] - 48;
  const c = first[11] - 48;
  if (a < 1 || a > 5 || b < 0 || b > 9 || c < 0 || c > 9) return 0;
  return a * 100 + b * 10 + c;
}
