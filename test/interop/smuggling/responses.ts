/**
 * Client side of the smuggling suite: a raw connection that sends bytes and splits what
 * comes back into HTTP/1.1 responses (Content-Length, chunked, bodiless 1xx/204/304,
 * or until close), independently of src/.
 */
import { connect, type Socket } from 'node:net';
import type { NodeAnswer } from './recording-node.ts';

export interface ClientResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** the node's answer when the body is one (router error pages are not) */
  answer: NodeAnswer | null;
}

function parseAnswer(body: Buffer): NodeAnswer | null {
  try {
    const a = JSON.parse(body.toString('utf8')) as NodeAnswer;
    return typeof a.seq === 'number' ? a : null;
  } catch {
    return null;
  }
}

/**
 * Splits `buf` into complete responses; `closed` = the peer closed, so a response without
 * framing ends at the end of `buf`. Returns the responses and how many bytes they used.
 */
export function splitResponses(buf: Buffer, closed: boolean): { responses: ClientResponse[]; used: number } {
  const responses: ClientResponse[] = [];
  let pos = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', pos);
    if (end < 0) break;
    const lines = buf.subarray(pos, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? Number.NaN);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let bodyStart = end + 4;
    let bodyEnd: number;
    if ((status >= 100 && status < 200) || status === 204 || status === 304) {
      // a 101's "body" is the tunnel: left in the tail
      bodyEnd = bodyStart;
    } else if (headers['content-length'] !== undefined) {
      bodyEnd = bodyStart + Number(headers['content-length']);
      if (bodyEnd > buf.length) break;
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const eol = buf.indexOf('\r\n', p);
        if (eol < 0) break;
        const size = Number.parseInt(buf.toString('latin1', p, eol), 16);
        if (size === 0) {
          if (buf.length >= eol + 4) {
            complete = true;
            p = eol + 4;
          }
          break;
        }
        if (eol + 2 + size + 2 > buf.length) break;
        parts.push(buf.subarray(eol + 2, eol + 2 + size));
        p = eol + 2 + size + 2;
      }
      if (!complete) break;
      const body = Buffer.concat(parts);
      responses.push({ status, headers, body, answer: parseAnswer(body) });
      pos = p;
      continue;
    } else {
      if (!closed) break;
      bodyEnd = buf.length;
    }
    const body = buf.subarray(bodyStart, bodyEnd);
    responses.push({ status, headers, body, answer: parseAnswer(body) });
    pos = bodyEnd;
    if (status === 101) break;
    bodyStart = pos;
  }
  return { responses, used: pos };
}

export interface Conversation {
  responses: ClientResponse[];
  /** bytes after the last complete response (tunnel data after a 101, or a cut response) */
  tail: Buffer;
  closed: boolean;
}

/**
 * Opens a connection, writes `parts` (with `pauseMs` between them), and reads until the
 * router closes, `want` responses arrived (then waits `settleMs` more for strays), or
 * `timeoutMs`.
 */
export function converse(
  port: number,
  parts: Array<string | Buffer>,
  o: { want?: number; timeoutMs?: number; pauseMs?: number; settleMs?: number } = {},
): Promise<Conversation> {
  return new Promise((resolve) => {
    const s: Socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let closed = false;
    let settled = false;
    let settleTimer: NodeJS.Timeout | null = null;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (settleTimer) clearTimeout(settleTimer);
      s.destroy();
      const buf = Buffer.concat(chunks);
      const { responses, used } = splitResponses(buf, closed);
      resolve({ responses, tail: buf.subarray(used), closed });
    };
    const timer = setTimeout(finish, o.timeoutMs ?? 5000);
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (o.want !== undefined && settleTimer === null) {
        const { responses } = splitResponses(Buffer.concat(chunks), false);
        if (responses.length >= o.want) settleTimer = setTimeout(finish, o.settleMs ?? 100);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      finish();
    });
    s.once('connect', async () => {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
        if (settled) return;
        s.write(parts[i]);
      }
    });
  });
}
