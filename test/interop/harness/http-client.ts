/** Clients for tests: an HTTP request (undici) and raw bytes over TCP/unix sockets. */
import { connect } from 'node:net';
import { Client } from 'undici';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** the body as UTF-8 */
  text: string;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Uint8Array;
  /** whole-request timeout (default 10 s) */
  timeoutMs?: number;
}

/**
 * One HTTP/1.1 request on its own connection (closed afterwards), so tests see exactly one
 * request per connection unless they use rawRequest. Never throws on a status code.
 */
export async function httpGet(url: string, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  const u = new URL(url);
  const timeoutMs = opts.timeoutMs ?? 10000;
  const client = new Client(u.origin, {
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    pipelining: 1,
  });
  try {
    const res = await client.request({
      path: `${u.pathname}${u.search}`,
      method: (opts.method ?? 'GET') as 'GET',
      headers: opts.headers,
      body: opts.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers, body, text: body.toString('utf8') };
  } finally {
    await client.close().catch(() => undefined);
  }
}

export interface RawRequestOptions {
  host?: string;
  /** give up (and resolve with what arrived) after this long; default 10 s */
  timeoutMs?: number;
  /** half-close our side after writing (default false) */
  end?: boolean;
  /** resolve as soon as this returns true for the bytes received so far */
  until?: (received: Buffer) => boolean;
  /** write the parts with this pause between them (to split packets); default 0 */
  pauseMs?: number;
}

/**
 * Open a connection to `port` (or a unix socket path), write `data` (one part or several),
 * and collect what comes back until the peer closes, `until` is satisfied, or the timeout.
 */
export function rawRequest(
  target: number | string,
  data: string | Uint8Array | readonly (string | Uint8Array)[],
  opts: RawRequestOptions = {},
): Promise<Buffer> {
  const parts = Array.isArray(data)
    ? (data as readonly (string | Uint8Array)[])
    : [data as string | Uint8Array];
  return new Promise((resolve, reject) => {
    const socket =
      typeof target === 'number'
        ? connect({ port: target, host: opts.host ?? '127.0.0.1' })
        : connect({ path: target });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err && chunks.length === 0) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => finish(), opts.timeoutMs ?? 10000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (opts.until?.(Buffer.concat(chunks))) finish();
    });
    socket.once('end', () => finish());
    socket.once('close', () => finish());
    socket.once('error', (err) => finish(err));
    socket.once('connect', async () => {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
        if (settled) return;
        socket.write(parts[i]!);
      }
      if (opts.end) socket.end();
    });
  });
}

/**
 * A uwsgi request packet (header: modifier1, u16le datasize, modifier2; vars: u16le
 * length-prefixed key/value pairs), written independently of src/ so it can check it.
 */
export function uwsgiPacket(vars: Record<string, string>, modifier1 = 0, modifier2 = 0): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(vars)) {
    for (const s of [k, v]) {
      const b = Buffer.from(s, 'latin1');
      const len = Buffer.alloc(2);
      len.writeUInt16LE(b.length);
      parts.push(len, b);
    }
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeUInt8(modifier1, 0);
  head.writeUInt16LE(body.length, 1);
  head.writeUInt8(modifier2, 3);
  return Buffer.concat([head, body]);
}

/** The uwsgi packet nginx's `uwsgi_pass` sends for `GET /` with `Host: host` (the vars a node needs). */
export function uwsgiGet(host: string): Buffer {
  return uwsgiPacket({
    REQUEST_METHOD: 'GET',
    PATH_INFO: '/',
    QUERY_STRING: '',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_NAME: 'localhost',
    SERVER_PORT: '80',
    HTTP_HOST: host,
  });
}

export interface RawHttpResponse {
  status: number;
  statusLine: string;
  /** header names lower-cased; repeated headers joined with ", " */
  headers: Record<string, string>;
  /** the raw header lines as sent */
  rawHeaders: string[];
  /** everything after the blank line (not de-chunked) */
  body: Buffer;
}

/** Split a raw HTTP/1.x response into head and body; undefined when there is no full head. */
export function parseRawHttpResponse(buf: Buffer): RawHttpResponse | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines[0] ?? '';
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  const headers: Record<string, string> = {};
  const rawHeaders = lines.slice(1);
  for (const line of rawHeaders) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status, statusLine, headers, rawHeaders, body: buf.subarray(end + 4) };
}

/** Decode a chunked transfer-encoded body; undefined when it is incomplete or malformed. */
export function dechunk(body: Buffer): Buffer | undefined {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const size = Number.parseInt(body.subarray(pos, eol).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size)) return undefined;
    pos = eol + 2;
    if (size === 0) return Buffer.concat(out);
    if (pos + size + 2 > body.length) return undefined;
    out.push(body.subarray(pos, pos + size));
    pos += size + 2;
  }
}
