/**
 * `X-stats ADDR`: on each connection write one JSON document and close; with `stats-http`
 * read the request first and answer with uWSGI's HTTP/1.0 head (spec: corerouter.md §8).
 */
import type { Socket } from 'node:net';
import type { Logger } from '../logger.ts';
import { type Listener, listen } from './listener.ts';

const HTTP_HEAD =
  'HTTP/1.0 200 OK\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: application/json\r\n\r\n';

export interface StatsServerOptions {
  address: string;
  /** the router's short name for the log line (`fastrouter`, `http`, …) */
  routerName: string;
  http: boolean;
  render: () => string;
  log: Logger;
  backlog: number;
  sharedSockets: readonly string[];
}

export async function startStatsServer(o: StatsServerOptions): Promise<Listener> {
  const serve = (s: Socket): void => {
    s.on('error', () => s.destroy());
    s.setTimeout(4000, () => s.destroy());
    const send = (): void => {
      const body = o.render();
      s.end(o.http ? HTTP_HEAD + body : body);
    };
    if (!o.http) {
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
  return l;
}
