/**
 * `--stats ADDR`: the instance's stats server, uWSGI's master stats (spec: corerouter.md §8
 * for the serving, ssl-sni-sessions.md §6 for `caches`). uWSGI's master document also lists
 * workers, sockets and locks, which a router has none of; uwrouter's holds the instance
 * fields and the caches (uWSGI's "Scaling SSL connections" recipe reads items, hits and miss
 * there). Each router keeps its own `X-stats` document.
 */
import type { CacheSystem } from './cache/index.ts';
import type { Config } from './config/config.ts';
import type { Listener } from './corerouter/listener.ts';
import { startStatsServer } from './corerouter/stats-server.ts';
import type { Logger } from './logger.ts';

export function instanceStatsDocument(version: string, caches: CacheSystem): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    version,
    pid: process.pid,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    cwd: process.cwd(),
  };
  if (caches.size > 0) doc.caches = caches.statsJson();
  return doc;
}

/** Starts the server when `--stats` is given; undefined otherwise. */
export async function startInstanceStats(
  config: Config,
  log: Logger,
  version: string,
  caches: CacheSystem,
): Promise<Listener | undefined> {
  const address = config.str('stats');
  if (address === undefined) return undefined;
  return startStatsServer({
    address,
    routerName: 'uwrouter instance',
    http: config.flag('stats-http'),
    minified: config.flag('stats-minified'),
    document: () => instanceStatsDocument(version, caches),
    log,
    backlog: config.int('listen'),
    sharedSockets: config.all('shared-socket'),
  });
}
