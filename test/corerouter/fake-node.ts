/**
 * Fake uwsgi nodes for unit tests: a TCP or UNIX server that records what it receives and
 * answers like a uWSGI worker (raw HTTP response, then close).
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeHeader } from '../../src/protocol/uwsgi.ts';

export interface FakeNode {
  server: Server;
  port: number;
  address: string;
  /** complete requests received (head + body bytes) */
  requests: Buffer[];
  close(): Promise<void>;
}

export interface FakeNodeOptions {
  /** answer text (default "HTTP/1.1 200 OK ... ok-NAME") */
  name?: string;
  path?: string;
  /** what to do once the head + CONTENT_LENGTH body is in */
  behaviour?: 'answer' | 'echo' | 'die-mid-response' | 'silent';
}

function contentLength(head: Buffer): number {
  const m = /CONTENT_LENGTH\x00?.?.?(\d+)/.exec(head.toString('latin1'));
  const i = head.indexOf('CONTENT_LENGTH');
  if (i < 0 || !m) return 0;
  const vlen = head[i + 14] | (head[i + 15] << 8);
  return Number(head.toString('latin1', i + 16, i + 16 + vlen)) || 0;
}

export async function startFakeNode(o: FakeNodeOptions = {}): Promise<FakeNode> {
  const name = o.name ?? 'node';
  const requests: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let answered = false;
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      const h = decodeHeader(buf);
      if (!h || buf.length < 4 + h.datasize || answered) return;
      const head = buf.subarray(0, 4 + h.datasize);
      const want = 4 + h.datasize + contentLength(head);
      if (buf.length < want) return;
      answered = true;
      requests.push(Buffer.from(buf));
      const body = buf.subarray(4 + h.datasize);
      switch (o.behaviour ?? 'answer') {
        case 'silent':
          return;
        case 'die-mid-response':
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
          setTimeout(() => s.destroy(), 20);
          return;
        case 'echo':
          s.end(
            Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
          );
          return;
        default:
          s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${3 + name.length}\r\n\r\nok-${name}`);
      }
    });
  });
  if (o.path) server.listen(o.path);
  else server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    server,
    port,
    address: o.path ?? `127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port on which nothing listens (bound then closed). */
export async function deadPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const a = s.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Sends bytes on a raw socket, returns everything received until the router closes. */
export async function rawExchange(
  port: number,
  data: string | Buffer | Array<string | Buffer>,
  pauseMs = 0,
): Promise<string> {
  const s = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c) => chunks.push(c));
  s.on('error', () => {});
  await once(s, 'connect');
  for (const d of Array.isArray(data) ? data : [data]) {
    s.write(d);
    if (pauseMs) await sleep(pauseMs);
  }
  await once(s, 'close');
  return Buffer.concat(chunks).toString('latin1');
}
