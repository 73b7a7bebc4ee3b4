/**
 * Builds and starts every router the configuration names (with its subscription system),
 * and the subscribe client; returns one handle to stop them all.
 */
import { CacheSystem } from './cache/index.ts';
import type { Config, RouterName } from './config/config.ts';
import { OPTIONS } from './config/registry.ts';
import { applyOptionStatuses, isImplemented } from './config/status.ts';
import type { RouterExtras } from './corerouter/from-config.ts';
import type { CoreRouter } from './corerouter/router.ts';
import { ConfigError } from './errors.ts';
import { createFastrouter } from './fastrouter/index.ts';
import { createHttpRouter } from './http-router/index.ts';
import { startInstanceStats } from './instance-stats.ts';
import type { Logger } from './logger.ts';
import { createRawrouter } from './rawrouter/index.ts';
import { type RequestLog, requestLogFromConfig } from './request-log.ts';
import { createSslrouter } from './sslrouter/index.ts';
import { OwnAddresses } from './subscription/own-addresses.ts';
import { createSubscriberFromConfig, createSubscriptionSystemFromConfig } from './subscription/system.ts';
import { routerTlsRuntime } from './tls/router-runtime.ts';
import { tlsSessionCacheFromConfig } from './tls/session-id-cache.ts';

export interface RunningRouters {
  routers: CoreRouter[];
  /** the request log, when configured (its file is reopened on SIGHUP/SIGUSR2) */
  requestLog: RequestLog | null;
  /** every cache of the instance (the TLS side takes its session store here) */
  caches: CacheSystem;
  close(): Promise<void>;
}

type RouterFactory = (config: Config, log: Logger, extras: Omit<RouterExtras, 'listen'>) => CoreRouter;

/** Each router, and the listener options that make it run (the first names its own address). */
const FACTORIES: Array<[RouterName, RouterFactory, readonly string[]]> = [
  ['fastrouter', createFastrouter, ['fastrouter']],
  ['rawrouter', createRawrouter, ['rawrouter']],
  ['sslrouter', createSslrouter, ['sslrouter', 'sslrouter2']],
  ['http', createHttpRouter, ['http', 'https', 'https2', 'http-to-https']],
];

/** Listener options whose value carries certificates after the address (`ADDR,CRT,KEY`, `addr=..,cert=..`). */
const TLS_LISTEN = new Set(['sslrouter', 'https']);
const TLS_LISTEN2 = new Set(['sslrouter2', 'https2']);

/** The listening address in a listener option's value (the router checks the rest). */
function listenAddressOf(option: string, value: string): string {
  if (TLS_LISTEN.has(option)) return value.split(',')[0];
  if (TLS_LISTEN2.has(option)) return /(?:^|,)addr=([^,]*)/.exec(value)?.[1] ?? '';
  return value;
}

/** Redirect-only listeners route nothing: a router made of them needs no node source. */
const NO_NODES_NEEDED = new Set(['http-to-https']);

/** Names every listener option uwrouter can run, from the registry. */
function nothingToRunMessage(): string {
  const listeners = OPTIONS.filter((o) => o.listener && isImplemented(o)).map(
    (o) => `--${o.name} ${o.valueName ?? 'ADDR'}`,
  );
  return `nothing to run: no router listener is configured; give one of ${listeners.join(', ')} (on the command line or in an ini file)`;
}

export async function startRouters(config: Config, log: Logger, version: string): Promise<RunningRouters> {
  const routers: CoreRouter[] = [];
  const closers: Array<() => Promise<void>> = [];
  let requestLog: RequestLog | null = null;
  applyOptionStatuses(config, log);
  // caches exist before the routers (a router's X-use-cache reads one) and go after them
  const caches = CacheSystem.fromConfig(config, log);
  const close = async (): Promise<void> => {
    // the subscriber first, so its unsubscribe leaves before the routers go
    for (const c of closers.splice(0).reverse()) await c();
    await Promise.all(routers.map((r) => r.close()));
    await requestLog?.close();
    await caches.close();
  };
  // every router's listeners and stats sockets: no subscription may name one (a node at the
  // router's own listener is a request loop). Configured now, bound names once listening.
  const ownAddresses = new OwnAddresses();
  for (const [name, , listenOptions] of FACTORIES) {
    for (const o of [...listenOptions, `${name}-stats`])
      for (const a of config.all(o)) ownAddresses.add(listenAddressOf(o, a));
  }
  requestLog = requestLogFromConfig(config, log);
  for (const a of config.all('stats')) ownAddresses.add(a);
  try {
    // --ssl-sessions-use-cache: checked against the caches now (a missing or small one is an error)
    const sessionCache = tlsSessionCacheFromConfig(
      config.has('ssl-sessions-use-cache') ? (config.str('ssl-sessions-use-cache') ?? '') : undefined,
      config.int('ssl-sessions-timeout'),
      caches,
      log,
    );
    await caches.start();
    if (config.has('ssl-sessions-use-cache')) {
      const warning = caches.plaintextSessionSyncWarning(config.str('ssl-sessions-use-cache') ?? '');
      if (warning !== undefined) log.warn(warning);
    }
    const instanceStats = await startInstanceStats(config, log, `${version}-uwrouter`, caches);
    if (instanceStats) {
      ownAddresses.add(instanceStats.name);
      closers.push(() => instanceStats.close());
    }
    for (const [name, factory, listenOptions] of FACTORIES) {
      const listen = listenOptions.flatMap((o) => config.all(o).map((v) => listenAddressOf(o, v)));
      const subscription = createSubscriptionSystemFromConfig(config, name, log, {
        ownAddress: listen[0],
        ownAddresses,
      });
      if (listen.length === 0) {
        if (subscription) {
          await subscription.close();
          throw new ConfigError(
            `--${name}-subscription-server needs a --${name} listening address to route for`,
          );
        }
        continue;
      }
      const extras: Omit<RouterExtras, 'listen'> = {
        version: `${version}-uwrouter`,
        routeCache: (cacheName) => caches.routeCache(cacheName),
      };
      if (requestLog) extras.requestLog = requestLog;
      if (subscription) {
        closers.push(() => subscription.close());
        extras.subscription = {
          mapper: subscription.mapper,
          stats: subscription.stats,
          events: subscription.events,
          socketNames: () => subscription.server.addresses(),
        };
      }
      const router = factory(config, log, extras);
      routers.push(router);
      // subscription certificates (sni_key/sni_crt) go to the router's TLS contexts
      const tls = routerTlsRuntime(router);
      if (subscription && tls) subscription.bindSni(tls.registry);
      if (sessionCache && tls) tls.resumption.useSessionCache(sessionCache);
      await router.start();
      for (const l of router.listeners) ownAddresses.add(l.name);
      if (router.statsName) ownAddresses.add(router.statsName);
      if (subscription) await subscription.listen();
      // a redirect-only HTTP router (http-to-https) needs no nodes
      const routes = listenOptions.some((o) => !NO_NODES_NEEDED.has(o) && config.all(o).length > 0);
      if (routes && !router.mapper && router.opts.fallbacks.length === 0) {
        log.warn(
          `[uwrouter] ${name}: no node source configured (--${name}-to, a subscription server, …): every request will be closed`,
        );
      }
    }
    if (routers.length === 0) throw new ConfigError(nothingToRunMessage());
    // uwrouter can announce itself (or any address) to upstream subscription servers
    const own = routers.flatMap((r) => r.listeners.map((l) => l.name));
    const subscriber = createSubscriberFromConfig(config, log, { sockets: own });
    if (subscriber) {
      subscriber.start();
      closers.push(() => subscriber.stop());
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { routers, requestLog, caches, close };
}
