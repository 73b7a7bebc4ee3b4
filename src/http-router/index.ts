/**
 * The HTTP router: HTTP/1.x clients in, uwsgi (or HTTP) nodes out (spec: http-router.md).
 * One CoreRouter serves the `http` listeners and the `http-to-https` redirect listeners.
 */
import type { Config } from '../config/config.ts';
import { coreOptionsFromConfig, type RouterExtras } from '../corerouter/from-config.ts';
import { CoreRouter } from '../corerouter/router.ts';
import type { Logger } from '../logger.ts';
import { HttpConnection } from './connection.ts';
import { HttpNodePool } from './http-node.ts';
import { HttpRouterShared, HttpRouterStats } from './router-state.ts';
import { httpListenAddresses, httpSettingsFromConfig } from './settings.ts';

export function createHttpRouter(
  config: Config,
  log: Logger,
  extras: Omit<RouterExtras, 'listen'>,
): CoreRouter {
  const settings = httpSettingsFromConfig(config);
  const opts = coreOptionsFromConfig(config, 'http', log, {
    ...extras,
    listen: httpListenAddresses(config, settings),
  });
  const pool = new HttpNodePool(settings.nodePoolSize, settings.nodePoolIdleMs);
  const stats = new HttpRouterStats(pool);
  const shared = new HttpRouterShared(settings, pool, stats);
  return new CoreRouter(
    { ...opts, statsSections: [...opts.statsSections, stats], onClose: () => pool.closeAll() },
    (client, listener, core) => {
      new HttpConnection(client, listener, core, shared);
    },
  );
}
