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
import type { Socket } from 'node:net';
import type { Config } from '../config/config.ts';
import { coreOptionsFromConfig, type RouterExtras } from '../corerouter/from-config.ts';
import { type ProxyIntakeSettings, withProxyIntake } from '../corerouter/proxy-intake.ts';
import { type ConnectionHandler, CoreRouter } from '../corerouter/router.ts';
import type { Logger } from '../logger.ts';
import { setRouterTlsRuntime } from '../tls/router-runtime.ts';
import { tlsStatsSection } from '../tls/tls-front-stats.ts';
import { HttpConnection } from './connection.ts';
import { TOO_MANY_CONNECTIONS_503 } from './error-response.ts';
import { HttpNodePool } from './http-node.ts';
import {
  type HttpsConnectionOpener,
  type HttpsSession,
  httpsAwareHandler,
  httpsPartsFromConfig,
} from './https.ts';
import { HttpRouterShared, HttpRouterStats } from './router-state.ts';
import { type HttpRouterSettings, httpListenAddresses, httpSettingsFromConfig } from './settings.ts';

/**
 * `--http-enable-proxy-protocol` with `--http-trusted-proxy` peers: their connections must
 * start with a PROXY v1 or v2 header within socket-timeout (as the rawrouter's), read by the
 * corerouter's intake. Null without trusted peers: then uWSGI's optional v1 line is read by
 * the head parser from any peer (spec: http-router.md §1), which lets any client choose its
 * REMOTE_ADDR — said once at start-up.
 */
function proxyIntakeFromConfig(
  config: Config,
  settings: HttpRouterSettings,
  routerTimeoutMs: number,
  log: Logger,
): ProxyIntakeSettings | null {
  if (settings.head.proxyProtocol) {
    log.warn(
      '[uwrouter] WARNING: --http-enable-proxy-protocol without --http-trusted-proxy accepts a PROXY v1 line from any client (as uWSGI does), so any client can set its REMOTE_ADDR; give --http-trusted-proxy to read PROXY v1/v2 only from your balancers',
    );
  }
  if (!settings.proxyFromTrusted) return null;
  return { trusted: settings.trusted, timeoutMs: config.int('socket-timeout') * 1000 || routerTimeoutMs };
}

/**
 * Opens HTTP connections over TLS. With trusted PROXY peers the header is read inside the TLS
 * stream, after the handshake: where uWSGI reads its v1 line on HTTPS listeners (spec:
 * http-router.md §1, the head parser runs on the decrypted bytes).
 */
function httpsOpener(shared: HttpRouterShared, intake: ProxyIntakeSettings | null): HttpsConnectionOpener {
  if (intake === null) {
    return (tls, session, listener, core) => {
      new HttpConnection(tls, listener, core, shared, session);
    };
  }
  const sessions = new WeakMap<Socket, HttpsSession>();
  const open = withProxyIntake((tls, listener, core) => {
    const session = sessions.get(tls);
    if (session === undefined) return;
    sessions.delete(tls);
    new HttpConnection(tls, listener, core, shared, session);
  }, intake);
  return (tls, session, listener, core) => {
    sessions.set(tls, session);
    open(tls, listener, core);
  };
}

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
  const intake = proxyIntakeFromConfig(config, settings, opts.timeoutMs, log);
  const plainOpen: ConnectionHandler = (client, listener, core) => {
    new HttpConnection(client, listener, core, shared, null);
  };
  const plain = intake ? withProxyIntake(plainOpen, intake) : plainOpen;
  const handler = https ? httpsAwareHandler(https, plainCount, plain, httpsOpener(shared, intake)) : plain;
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
