/**
 * The HTTP side of a stored request body (corerouter/stored-body.ts): the chunked framing
 * it is de-chunked with, and the head the node then gets.
 */
import type { BodyFraming, BodyFramingResult } from '../corerouter/stored-body.ts';
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import { ChunkedBodyParser } from './chunked.ts';

/** A chunked body of at most `maxBody` payload bytes (else 413), de-chunked. */
export function chunkedFraming(maxBody: number) {
  return (onData: (data: Buffer) => void): BodyFraming => {
    const parser = new ChunkedBodyParser({ maxBodySize: maxBody, onData });
    return {
      push(chunk: Buffer): BodyFramingResult {
        const r = parser.push(chunk);
        if (r.state !== 'error') return r;
        return {
          state: 'error',
          status: r.status,
          code: r.code,
          reason: `bad chunked request body (${r.reason})`,
        };
      },
    };
  };
}

/**
 * The head the node gets for a stored body: Transfer-Encoding removed, `Content-Length: N`
 * added (CONTENT_LENGTH for a uwsgi node), Expect removed (the router met it when it read
 * the body; an HTTP node's own 100 would reach the client as a second one). Header order is
 * otherwise kept.
 */
export function headWithStoredBody(head: HttpRequestHead, size: number): HttpRequestHead {
  const headers = head.headers.filter((h) => {
    const n = h.name.length;
    if (n !== 17 && n !== 6) return true;
    const lower = h.name.toLowerCase();
    return lower !== 'transfer-encoding' && lower !== 'expect';
  });
  headers.push({ name: 'Content-Length', value: String(size) });
  return {
    ...head,
    headers,
    contentLength: size,
    transferEncoding: null,
    chunked: false,
    expectContinue: false,
  };
}
