/**
 * The sslrouter: TLS in (terminated here, certificates by SNI), plaintext TCP out, keyed by
 * the listening address or the server name (spec: ssl-sni-sessions.md §2–4, corerouter.md).
 * Every listener has its TLS front (src/tls/tls-front.ts): handshake hygiene, then the node
 * is connected once the handshake completes (sslrouter/connection.ts).
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/config.ts';
import { coreOptionsFromConfig, type RouterExtras } from '../corerouter/from-config.ts';
import { IdleSweep } from '../corerouter/idle-sweep.ts';
import type { Listener } from '../corerouter/listener.ts';
import { clientEndpoint, withProxyIntake } from '../corerouter/proxy-intake.ts';
import { proxyIntakeFromConfig } from '../corerouter/proxy-intake-config.ts';
import { type ConnectionHandler, CoreRouter } from '../corerouter/router.ts';
import type { Logger } from '../logger.ts';
import { type TlsRuntime, tlsListenersFromConfig, tlsRuntimeFromConfig } from '../tls/from-config.ts';
import type { ListenerTls } from '../tls/listener-tls.ts';
import { routerTlsRuntime, setRouterTlsRuntime } from '../tls/router-runtime.ts';
import { routerFrontOptions, TlsFront, type TlsHandshakeResult } from '../tls/tls-front.ts';
import { TlsFrontStats, tlsStatsSection } from '../tls/tls-front-stats.ts';
import { SslrouterConnection, type SslrouterSettings, type SslrouterShared } from './connection.ts';
import { sslrouterKey, sslrouterListenerKey } from './key.ts';

export { sslrouterKey, sslrouterListenerKey } from './key.ts';

export interface SslrouterParts {
  runtime: TlsRuntime;
  listeners: readonly ListenerTls[];
  stats: TlsFrontStats;
}

/**
 * The connection handler of a router whose listeners are `listeners` in order: each listener
 * gets its TLS front when it first accepts (the CoreRouter binds them in the same order).
 */
export function sslrouterHandler(parts: SslrouterParts, settings: SslrouterSettings): ConnectionHandler {
  const sweep = new IdleSweep(IdleSweep.intervalFor(settings.timeoutMs));
  const shared: SslrouterShared = { ...settings, sweep, idleTicks: sweep.ticksFor(settings.timeoutMs) };
  const fronts = new WeakMap<Listener, TlsFront>();
  const { settings: tls } = parts.runtime;
  const frontSweep = new IdleSweep(IdleSweep.intervalFor(tls.handshakeTimeoutMs));
  const frontFor = (listener: Listener, core: CoreRouter): TlsFront => {
    const index = core.listeners.indexOf(listener);
    const listenerTls = parts.listeners[index];
    if (listenerTls === undefined) throw new Error(`internal: no TLS side for listener ${listener.name}`);
    const listenerKey = sslrouterListenerKey(listener);
    const onSecure = (socket: TLSSocket, result: TlsHandshakeResult): void => {
      const key = sslrouterKey(listenerKey, result.hello.serverName, shared.bySni);
      new SslrouterConnection(socket, result, key, core, shared);
    };
    return new TlsFront({
      ...routerFrontOptions(core, tls, parts.stats, frontSweep),
      listenerTls,
      onSecure,
      clientOf: clientEndpoint,
    });
  };
  return (client: Socket, listener: Listener, core: CoreRouter): void => {
    let front = fronts.get(listener);
    if (front === undefined) {
      front = frontFor(listener, core);
      fronts.set(listener, front);
    }
    front.accept(client);
  };
}

/**
 * The TLS runtime (settings, context store, SNI registry) of a router made by createSslrouter:
 * what the subscription side feeds (`registry.attachSubscription` / `detachSubscription`,
 * `registry.hasSubscriptionContext` for stats `sni_enabled`).
 */
export function sslrouterTlsRuntime(router: CoreRouter): TlsRuntime | undefined {
  return routerTlsRuntime(router);
}

export function createSslrouter(
  config: Config,
  log: Logger,
  extras: Omit<RouterExtras, 'listen'>,
): CoreRouter {
  const runtime = tlsRuntimeFromConfig(config, log);
  const listeners = tlsListenersFromConfig(runtime, config, 'sslrouter', log);
  const opts = coreOptionsFromConfig(config, 'sslrouter', log, {
    ...extras,
    listen: listeners.map((l) => l.spec.address),
  });
  const stats = new TlsFrontStats();
  const handler = sslrouterHandler(
    { runtime, listeners, stats },
    {
      timeoutMs: opts.timeoutMs,
      proxyProtocol: config.int('sslrouter-proxy-protocol') as 0 | 1 | 2,
      bySni: config.flag('sslrouter-sni'),
    },
  );
  const intake = proxyIntakeFromConfig(config, 'sslrouter', opts.timeoutMs);
  const router = new CoreRouter(
    {
      ...opts,
      statsSections: [
        ...opts.statsSections,
        tlsStatsSection(stats, runtime.store, runtime.registry, runtime.resumption),
      ],
    },
    withProxyIntake(handler, intake),
  );
  setRouterTlsRuntime(router, runtime);
  return router;
}
