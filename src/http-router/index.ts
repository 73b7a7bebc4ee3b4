/**
 * The HTTP router: HTTP/1.x clients in, uwsgi (or HTTP) nodes out (spec: http-router.md).
 * One CoreRouter serves the `http` listeners, the `https`/`https2` listeners (https.ts) and
 * the `http-to-https` redirect listeners.
 *
 * Choices beyond uWSGI 2.0 (besides those listed in request-vars.ts / error-response.ts):
 * - error pages: 404 when the mapper does not know the key at all (no pool, no mapper, an
 *   invalid pattern result), 503 when it knows it but has no live node (static nodes in
 *   gracetime, a pool whose nodes are all dead), 502 when every connect failed, 504 when a
 *   connect timed out or the node sent nothing within `http-timeout`; once response bytes
 *   went out, a failing node just closes the client (the cut stays visible).
 * - bytes that arrive with a request past its body are kept as the start of the next
 *   request (served after the response, never in parallel) instead of being dropped.
 * - a client that half-closes after a complete request still gets its answer.
 * - `Expect: 100-continue` is matched case-insensitively.
 * - HTTP nodes (`http://` addresses, `proto=http` subscriptions) get HTTP/1.1 with
 *   X-Forwarded-* over pooled keep-alive connections (64 idle per node, ≤ 30 s idle); an
 *   HTTP node's `Connection: close` or HTTP/1.0 answer ends only its own connection (the
 *   client's keepalive is the router's decision; the status line goes out as HTTP/1.1).
 * - a chunked request body stored de-chunked does not forbid keepalive (its end is known).
 * - timeouts: the head deadline is absolute from the first byte of a head; node inactivity
 *   runs on a shared 1 s sweep (fires between T and T + 1 s, uWSGI's timers are second-
 *   granular too).
 * - HTTPS listeners (https.ts) serve the same HTTP router over TLS.
 * Not yet: `http-stud-prefix`, `http-manage-rtsp` (ConfigError).
 */
import type { Config } from '../config/config.ts';
import { coreOptionsFromConfig, type RouterExtras } from '../corerouter/from-config.ts';
import { type ConnectionHandler, CoreRouter } from '../corerouter/router.ts';
import type { Logger } from '../logger.ts';
import { setRouterTlsRuntime } from '../tls/router-runtime.ts';
import { tlsStatsSection } from '../tls/tls-front-stats.ts';
import { HttpConnection } from './connection.ts';
import { TOO_MANY_CONNECTIONS_503 } from './error-response.ts';
import { HttpNodePool } from './http-node.ts';
import { httpsAwareHandler, httpsPartsFromConfig } from './https.ts';
import { HttpRouterShared, HttpRouterStats } from './router-state.ts';
import { httpListenAddresses, httpSettingsFromConfig } from './settings.ts';

export function createHttpRouter(
  config: Config,
  log: Logger,
  extras: Omit<RouterExtras, 'listen'>,
): CoreRouter {
  const settings = httpSettingsFromConfig(config);
  const https = httpsPartsFromConfig(config, log);
  const httpsAddresses = https?.listeners.map((l) => l.spec.address) ?? [];
  const opts = coreOptionsFromConfig(config, 'http', log, {
    ...extras,
    listen: httpListenAddresses(config, settings, httpsAddresses),
  });
  const pool = new HttpNodePool(settings.nodePoolSize, settings.nodePoolIdleMs);
  const stats = new HttpRouterStats(pool);
  const plainCount = config.all('http').length;
  const shared = new HttpRouterShared(
    settings,
    pool,
    stats,
    extras.requestLog ?? null,
    plainCount + httpsAddresses.length,
  );
  const plain: ConnectionHandler = (client, listener, core) => {
    new HttpConnection(client, listener, core, shared, null);
  };
  const handler = https
    ? httpsAwareHandler(https, plainCount, plain, (tls, session, listener, core) => {
        new HttpConnection(tls, listener, core, shared, session);
      })
    : plain;
  const statsSections = [...opts.statsSections, stats];
  if (https)
    statsSections.push(
      tlsStatsSection(https.stats, https.runtime.store, https.runtime.registry, https.runtime.resumption),
    );
  const router: CoreRouter = new CoreRouter(
    {
      ...opts,
      statsSections,
      onClose: () => pool.closeAll(),
      overLimitReply: TOO_MANY_CONNECTIONS_503,
      // an HTTPS listener's client is closed instead: the 503 would be plaintext to it
      overLimitReplyOn: (l): boolean => {
        const i: number = router.listeners.indexOf(l);
        return i < plainCount || i >= plainCount + httpsAddresses.length;
      },
    },
    handler,
  );
  if (https) setRouterTlsRuntime(router, https.runtime);
  return router;
}
