/**
 * The recording HTTP node of the smuggling suite: Node's own `http` server with its strict
 * parser (llhttp, `insecureHTTPParser: false`), keep-alive, recording every request it
 * parsed (sequence number, node-side connection, method, URL, headers, body) and every
 * parse error. Each answer carries the request's sequence number, its `X-Req-Id` and URL,
 * so a client can prove it got its own answer and the suite can prove that every request
 * the node parsed was answered to the client that sent it.
 *
 * Paths with a behaviour:
 * - `/ws-accept` (an upgrade): 101, then echoes bytes prefixed with `echo:`;
 * - `/ws-refuse` (an upgrade): refused with a normal 403 answer (Node then stops parsing
 *   that connection: a router must not reuse it);
 * - `/fake-101`: a 101 to a request that asked for no upgrade, then Node keeps parsing;
 * - `/interim`: 102 Processing and 103 Early Hints, then the answer.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface Recorded {
  seq: number;
  /** node-side connection number (1, 2, …) */
  conn: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface NodeAnswer {
  seq: number;
  conn: number;
  id: string;
  url: string;
  body: number;
}

export interface RecordingNode {
  readonly server: Server;
  readonly port: number;
  readonly seen: Recorded[];
  /** requests the node's parser refused (code, bytes of the connection's last read) */
  readonly parseErrors: string[];
  connections(): number;
  reset(): void;
  close(): Promise<void>;
}

function answerBody(r: Recorded): Buffer {
  const a: NodeAnswer = {
    seq: r.seq,
    conn: r.conn,
    id: String(r.headers['x-req-id'] ?? ''),
    url: r.url,
    body: r.body.length,
  };
  return Buffer.from(JSON.stringify(a));
}

export async function startRecordingNode(): Promise<RecordingNode> {
  const seen: Recorded[] = [];
  const parseErrors: string[] = [];
  const sockets = new Set<Socket>();
  const connIds = new WeakMap<Socket, number>();
  let conns = 0;
  let seq = 0;
  const record = (req: IncomingMessage, body: Buffer): Recorded => {
    const r: Recorded = {
      seq: ++seq,
      conn: connIds.get(req.socket) ?? -1,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
    };
    seen.push(r);
    return r;
  };
  const server = createServer(
    {
      insecureHTTPParser: false,
      keepAliveTimeout: 30000,
      shouldUpgradeCallback: (req: IncomingMessage) => req.url === '/ws-accept',
    },
    (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const r = record(req, Buffer.concat(parts));
        const out = answerBody(r);
        if (req.url === '/fake-101') {
          // a node switching protocols nobody asked for; its parser goes on parsing
          req.socket.write(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
          );
          return;
        }
        if (req.url === '/interim') {
          res.writeProcessing();
          res.writeEarlyHints({ link: '</s.css>; rel=preload' });
        }
        res.writeHead(req.url === '/ws-refuse' ? 403 : 200, {
          'content-type': 'application/json',
          'content-length': out.length,
          'x-node-seq': r.seq,
        });
        res.end(out);
      });
    },
  );
  server.on('connection', (s: Socket) => {
    connIds.set(s, ++conns);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const r = record(req, Buffer.alloc(0));
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Node-Seq: ${r.seq}\r\n\r\n`,
    );
    const echo = (d: Buffer): void => {
      socket.write(Buffer.concat([Buffer.from('echo:'), d]));
    };
    if (head.length > 0) echo(head);
    socket.on('data', echo);
    socket.on('error', () => {});
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // a reset or a cut by the router is not a parse error; llhttp's are HPE_*
    if (String(err.code).startsWith('HPE_')) parseErrors.push(String(err.code));
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    server,
    port,
    seen,
    parseErrors,
    connections: () => conns,
    reset: () => {
      seen.length = 0;
      parseErrors.length = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
