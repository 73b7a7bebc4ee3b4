/**
 * The rawrouter's XCLIENT exchange (spec: corerouter.md §10): the node's first reply (its
 * SMTP greeting) is read and dropped, `XCLIENT ADDR=<client>` is sent instead, and the
 * node's answer to it (a fresh greeting) is what the client sees first.
 *
 * uWSGI drops the first line only; a multi-line greeting (`220-…` continuation lines, RFC
 * 5321 §4.2.1) then reached the client in pieces around the XCLIENT answer. Here the whole
 * reply is dropped: continuation lines (three digits and `-`) up to the last line. Lines
 * end in CR LF only (a CR followed by anything else is an error, as in uWSGI); the greeting
 * is bounded. Pure: bytes in, verdict out, never throws.
 */
import { formatIPv4, formatIPv6, isIPv4Mapped, parseIP } from './ip-address.ts';

export type GreetingResult =
  | { readonly state: 'need-more' }
  /** `rest`: bytes after the greeting (a view of the last chunk), forwarded to the client */
  | { readonly state: 'done'; readonly rest: Buffer }
  | { readonly state: 'error'; readonly reason: 'bare-cr' | 'too-long' };

const NEED_MORE: GreetingResult = { state: 'need-more' };
const CR = 0x0d;
const LF = 0x0a;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export class SmtpGreetingReader {
  private readonly limit: number;
  /** bytes seen so far */
  private seen = 0;
  /** the first bytes of the current line (enough to tell a continuation line) */
  private readonly lineStart = new Uint8Array(4);
  private lineLength = 0;
  private afterCr = false;

  /** `limit`: the most greeting bytes accepted (the rawrouter's buffer-size) */
  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): GreetingResult {
    for (let i = 0; i < chunk.length; i++) {
      if (++this.seen > this.limit) return { state: 'error', reason: 'too-long' };
      const c = chunk[i];
      if (this.afterCr) {
        if (c !== LF) return { state: 'error', reason: 'bare-cr' };
        this.afterCr = false;
        const s = this.lineStart;
        const continued =
          this.lineLength >= 4 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) && s[3] === 0x2d;
        this.lineLength = 0;
        if (!continued) return { state: 'done', rest: chunk.subarray(i + 1) };
        continue;
      }
      if (c === CR) {
        this.afterCr = true;
        continue;
      }
      if (this.lineLength < 4) this.lineStart[this.lineLength] = c;
      this.lineLength++;
    }
    return NEED_MORE;
  }
}

/**
 * The XCLIENT line for a client address (Postfix XCLIENT_README: IPv6 addresses carry the
 * `IPV6:` prefix); null when the client has no IP address (a UNIX-socket client: uWSGI
 * sends no XCLIENT then either). IPv4-mapped addresses are sent as IPv4.
 */
export function xclientLine(address: string): Buffer | null {
  const b = parseIP(address);
  if (b === null) return null;
  const text = b.length === 4 ? formatIPv4(b) : isIPv4Mapped(b) ? formatIPv4(b, 12) : `IPV6:${formatIPv6(b)}`;
  return Buffer.from(`XCLIENT ADDR=${text}\r\n`, 'latin1');
}
