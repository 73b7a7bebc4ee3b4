/**
 * Test fixtures for the HTTP router: fake uwsgi nodes with scriptable answers, a router
 * started on 127.0.0.1:0 with a log capture, raw-socket clients, and cleanup.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import type { CoreRouter } from '../../src/corerouter/router.ts';
import { createHttpRouter } from '../../src/http-router/index.ts';
import { decodeHeader, decodeVars } from '../../src/protocol/uwsgi.ts';
import type { RequestLog } from '../../src/request-log.ts';
import { captureLogger, type LogRecord } from '../log-capture.ts';

export { rawExchange } from '../corerouter/fake-node.ts';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanup.reverse()) {
    try {
      await c();
    } catch {
      // already closed
    }
  }
});

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanup.push(fn);
}

/** One request as a fake uwsgi node received it. */
export interface NodeRequest {
  modifier1: number;
  modifier2: number;
  vars: Map<string, string>;
  /** var names in wire order */
  order: string[];
  body: Buffer;
  socket: Socket;
}

export type NodeHandler = (req: NodeRequest) => void;

export interface FakeUwsgiNode {
  server: Server;
  port: number;
  address: string;
  requests: NodeRequest[];
  connections: number;
  close(): Promise<void>;
}

export interface FakeUwsgiOptions {
  /** read the body as chunked (http-chunked-input) instead of CONTENT_LENGTH bytes */
  chunked?: boolean;
  /** call the handler as soon as the vars are in, with the body read so far (raw modes) */
  early?: boolean;
}

/** A uwsgi node: parses the packet, reads the body, then calls `handler`. */
export async function uwsgiNode(handler: NodeHandler, o: FakeUwsgiOptions = {}): Promise<FakeUwsgiNode> {
  const requests: NodeRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let done = false;
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      if (done) return;
      const h = decodeHeader(buf);
      if (!h || buf.length < 4 + h.datasize) return;
      const { vars: list } = decodeVars(buf, 4, 4 + h.datasize);
      const vars = new Map(list);
      const body = buf.subarray(4 + h.datasize);
      if (!o.early) {
        if (o.chunked) {
          if (body.indexOf('0\r\n\r\n') < 0) return;
        } else if (body.length < Number(vars.get('CONTENT_LENGTH') ?? '0')) {
          return;
        }
      }
      done = true;
      if (o.early) {
        // the handler takes the socket over (raw modes): nothing may flow unheard
        s.pause();
        s.removeListener('data', onData);
      }
      const req = {
        modifier1: h.modifier1,
        modifier2: h.modifier2,
        vars,
        order: list.map(([k]) => k),
        body,
        socket: s,
      };
      requests.push(req);
      handler(req);
    };
    s.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const node: FakeUwsgiNode = {
    server,
    port,
    address: `127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  cleanup.push(() => node.close());
  return node;
}

/** A full response with Content-Length, then close (what a uWSGI worker does). */
export function answer(body: string | Buffer = 'ok', extraHead = ''): NodeHandler {
  return (req) => {
    const b = typeof body === 'string' ? Buffer.from(body) : body;
    req.socket.end(
      Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${b.length}\r\n${extraHead}\r\n`), b]),
    );
  };
}

export const echo: NodeHandler = (req) => {
  req.socket.end(
    Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${req.body.length}\r\n\r\n`), req.body]),
  );
};

export interface StartedRouter {
  router: CoreRouter;
  port: number;
  /** every listener's port, in order (`http` then `http-to-https`) */
  ports: number[];
  /** log message texts, every level */
  lines: string[];
  /** the same lines as JSON records (level, code, key, node, client fields) */
  records: LogRecord[];
}

export async function startRouter(
  args: string[],
  withHttp = true,
  requestLog?: RequestLog,
): Promise<StartedRouter> {
  const { config } = loadConfig([...(withHttp ? ['--http', '127.0.0.1:0'] : []), ...args], {});
  const { log, lines, records } = captureLogger();
  const router = createHttpRouter(config, log, { version: 'test', ...(requestLog ? { requestLog } : {}) });
  await router.start();
  cleanup.push(() => router.close());
  const ports = router.listeners.map((l) => {
    const a = l.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  return { router, port: ports[0], ports, lines, records };
}

/** A raw client that reads until `until` matches what it got (or close). */
export class RawClient {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async open(port: number): Promise<RawClient> {
    const s = connect(port, '127.0.0.1');
    await once(s, 'connect');
    onCleanup(() => {
      s.destroy();
    });
    return new RawClient(s);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `pred(text)` or close; returns and consumes the text. */
  async read(pred: (text: string) => boolean, ms = 3000): Promise<string> {
    const end = Date.now() + ms;
    while (!pred(this.buf.toString('latin1')) && !this.closed) {
      if (Date.now() > end) throw new Error(`timeout; got ${JSON.stringify(this.buf.toString('latin1'))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    const t = this.buf.toString('latin1');
    this.buf = Buffer.alloc(0);
    return t;
  }

  /** Reads one response with Content-Length (or until close). */
  readResponse(ms = 3000): Promise<string> {
    return this.read((t) => {
      const sep = t.indexOf('\r\n\r\n');
      if (sep < 0) return false;
      const m = /content-length: *(\d+)/i.exec(t.slice(0, sep));
      return m ? t.length >= sep + 4 + Number(m[1]) : false;
    }, ms);
  }

  write(d: string | Buffer): void {
    this.socket.write(d);
  }
}

export async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(10);
  }
}

/** Sessions return to 0 (every test ends with this). */
export async function noSessionsLeft(r: StartedRouter): Promise<void> {
  await waitFor(() => r.router.activeSessions === 0);
  assert.equal(r.router.activeSessions, 0);
}

export function bodyOf(response: string): string {
  const sep = response.indexOf('\r\n\r\n');
  return sep < 0 ? '' : response.slice(sep + 4);
}

export function headOf(response: string): string {
  const sep = response.indexOf('\r\n\r\n');
  return sep < 0 ? response : response.slice(0, sep + 2);
}
