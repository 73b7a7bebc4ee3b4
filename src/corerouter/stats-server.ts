/**
 * `X-stats ADDR`: on each connection write one JSON document and close; with `stats-http`
 * read the request first and answer with uWSGI's HTTP/1.0 head (spec: corerouter.md §8).
 *
 * The document is streamed (stats-json.ts): slices of ~64 KiB, the event loop runs between
 * two slices (setImmediate), and a slice is written only once the socket took the previous
 * one (backpressure), so a 22 MB document neither blocks routing nor piles up in memory for
 * a client that does not read. At most `MAX_STATS_STREAMS` documents are written at once;
 * a connection past that is closed at once and counted (`UWR_ERR_STATS_BUSY`).
 */
import type { Socket } from 'node:net';
import type { Logger } from '../logger.ts';
import { type Listener, listen } from './listener.ts';
import { statsJsonChunks } from './stats-json.ts';

const HTTP_HEAD =
  'HTTP/1.0 200 OK\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: application/json\r\n\r\n';

/** characters written per slice */
export const STATS_SLICE = 64 * 1024;
/** documents being written at once */
export const MAX_STATS_STREAMS = 4;
/** a stats client silent (not reading, not sending its request) this long is closed */
const STATS_IDLE_MS = 4000;

export interface StatsServerOptions {
  address: string;
  /** the router's short name for the log line (`fastrouter`, `http`, …) */
  routerName: string;
  http: boolean;
  /**
   * the document, built when a client connects (sections may hold LazyJsonArray lists); a
   * cluster primary's is a promise (it asks its workers for their figures first)
   */
  document: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  minified: boolean;
  log: Logger;
  backlog: number;
  sharedSockets: readonly string[];
  /** counts refused connections by code (the router's `uwrouter.counters`) */
  count?: (code: string) => void;
}

/** Writes `head` then the chunks, slice by slice, then ends the socket. */
function streamDocument(s: Socket, head: string, chunks: Iterator<string>): void {
  let slice = head;
  const step = (): void => {
    if (s.destroyed) return;
    for (;;) {
      const next = chunks.next();
      if (next.done) {
        s.end(slice);
        return;
      }
      slice += next.value;
      if (slice.length >= STATS_SLICE) break;
    }
    const flushed = s.write(slice);
    slice = '';
    if (flushed) setImmediate(step);
    else s.once('drain', step);
  };
  step();
}

export async function startStatsServer(o: StatsServerOptions): Promise<Listener> {
  let streams = 0;
  let lastBusyLog = 0;
  // open stats connections: closed with the server, so a client that keeps its side open
  // (a reader that never closes) cannot hold the router's shutdown or reload
  const open = new Set<Socket>();
  const serve = (s: Socket): void => {
    open.add(s);
    s.once('close', () => open.delete(s));
    s.on('error', () => s.destroy());
    s.setTimeout(STATS_IDLE_MS, () => s.destroy());
    if (streams >= MAX_STATS_STREAMS) {
      o.count?.('UWR_ERR_STATS_BUSY');
      const now = Date.now();
      if (now - lastBusyLog >= 10_000) {
        lastBusyLog = now;
        o.log.warn(
          `${o.routerName} stats server: ${MAX_STATS_STREAMS} stats documents are being written already, connection closed`,
        );
      }
      s.destroy();
      return;
    }
    streams++;
    s.once('close', () => {
      streams--;
    });
    const send = (): void => {
      const doc = o.document();
      if (!(doc instanceof Promise)) {
        streamDocument(s, o.http ? HTTP_HEAD : '', statsJsonChunks(doc, o.minified));
        return;
      }
      doc.then(
        (d) => streamDocument(s, o.http ? HTTP_HEAD : '', statsJsonChunks(d, o.minified)),
        (e: unknown) => {
          o.log.warn(`${o.routerName} stats server: the document could not be built: ${String(e)}`);
          s.destroy();
        },
      );
    };
    if (!o.http) {
      // whatever the client sends is read and dropped: a socket never read never sees the
      // client leave, and stayed counted by the server (its close() waited for it)
      s.on('data', () => {});
      send();
      return;
    }
    // read (and ignore) the request head; answer once it is complete or 8 KiB have come
    let seen = '';
    const onData = (c: Buffer): void => {
      seen += c.toString('latin1');
      if (seen.includes('\r\n\r\n') || seen.includes('\n\n') || seen.length > 8192) {
        s.removeListener('data', onData);
        send();
      }
    };
    s.on('data', onData);
  };
  const l = await listen(o.address, { backlog: o.backlog, sharedSockets: o.sharedSockets }, serve);
  o.log.info(`*** ${o.routerName} stats server enabled on ${l.name} fd: ${l.fd} ***`);
  const closeListener = l.close;
  return {
    ...l,
    close: () => {
      const closing = closeListener();
      for (const s of open) s.destroy();
      return closing;
    },
  };
}
