/**
 * Builds and starts every router the configuration names (with its subscription system),
 * the instance's caches, its request log and the subscribe client, in this process; returns
 * one handle to stop them all. This is the embedded form (`startRouters` in the package API,
 * and the unit tests); the `uwrouter` command runs the same routers in worker processes
 * under a primary (src/cluster/), which shares the plans and checks below.
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

export type RouterFactory = (config: Config, log: Logger, extras: Omit<RouterExtras, 'listen'>) => CoreRouter;

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

/** One router the configuration runs: its factory and its listening addresses. */
export interface RouterPlan {
  name: RouterName;
  factory: RouterFactory;
  /** the addresses of its listener options, certificates left out (the router checks the rest) */
  listen: readonly string[];
}

/** Every router with a listener, in a fixed order. */
export function routerPlans(config: Config): RouterPlan[] {
  const out: RouterPlan[] = [];
  for (const [name, factory, listenOptions] of FACTORIES) {
    const listen = listenOptions.flatMap((o) => config.all(o).map((v) => listenAddressOf(o, v)));
    if (listen.length > 0) out.push({ name, factory, listen });
  }
  return out;
}

/** Names every listener option uwrouter can run, from the registry. */
function nothingToRunMessage(): string {
  const listeners = OPTIONS.filter((o) => o.listener && isImplemented(o)).map(
    (o) => `--${o.name} ${o.valueName ?? 'ADDR'}`,
  );
  return `nothing to run: no router listener is configured; give one of ${listeners.join(', ')} (on the command line or in an ini file)`;
}

/**
 * The checks every start shares: a subscription server needs its router's listener, and
 * something must run. Throws ConfigError.
 */
export function checkRouterSet(config: Config): RouterPlan[] {
  const plans = routerPlans(config);
  for (const [name, , listenOptions] of FACTORIES) {
    const listens = listenOptions.some((o) => config.all(o).length > 0);
    if (!listens && config.all(`${name}-subscription-server`).length > 0) {
      throw new ConfigError(`--${name}-subscription-server needs a --${name} listening address to route for`);
    }
  }
  if (plans.length === 0) throw new ConfigError(nothingToRunMessage());
  return plans;
}

/**
 * Every router's configured listeners and stats sockets, and the instance stats socket: no
 * subscription may name one (a node at the router's own listener is a request loop). Bound
 * names are added once bound.
 */
export function configuredOwnAddresses(config: Config): OwnAddresses {
  const own = new OwnAddresses();
  for (const a of ownAddressTexts(config)) own.add(a);
  return own;
}

/** The addresses configuredOwnAddresses holds, as configured. */
export function ownAddressTexts(config: Config): string[] {
  const out: string[] = [];
  for (const [name, , listenOptions] of FACTORIES) {
    for (const o of [...listenOptions, `${name}-stats`])
      for (const a of config.all(o)) out.push(listenAddressOf(o, a));
  }
  out.push(...config.all('stats'));
  return out;
}

/** A router with no way to find a node closes every request: say so once. */
export function warnIfNoNodeSource(config: Config, router: CoreRouter, log: Logger): void {
  const name = router.opts.name as RouterName;
  const listenOptions = FACTORIES.find(([n]) => n === name)?.[2] ?? [];
  // a redirect-only HTTP router (http-to-https) needs no nodes
  const routes = listenOptions.some((o) => !NO_NODES_NEEDED.has(o) && config.all(o).length > 0);
  if (routes && !router.mapper && router.opts.fallbacks.length === 0) {
    log.warn(
      `[uwrouter] ${name}: no node source configured (--${name}-to, a subscription server, …): every request will be closed`,
    );
  }
}

/**
 * Options only the `uwrouter` command honours (it runs a primary and worker processes):
 * refused when routers are embedded in another process.
 */
function refuseCommandOnlyOptions(config: Config, plans: readonly RouterPlan[]): void {
  const refused: string[] = [];
  for (const p of plans) {
    const n = config.str(`${p.name}-processes`) ?? '1';
    if (n !== '1') refused.push(`--${p.name}-processes ${n}`);
    if (config.int(`${p.name}-harakiri`) > 0) refused.push(`--${p.name}-harakiri`);
  }
  if (config.all('touch-reload').length > 0) refused.push('--touch-reload');
  for (const p of plans) {
    // spec: corerouter.md §7: while cheap the socket stays bound but nobody accepts; only the
    // primary can hold it meanwhile (a process alone would have to close it: clients refused)
    if (config.flag(`${p.name}-cheap`))
      throw new ConfigError(
        `--${p.name}-cheap: cheap mode needs the listening sockets held by the uwrouter command's primary process; embedded routers cannot stop accepting without closing them`,
      );
  }
  // read so the option counts as used: embedded routers stop when close() is called
  config.int('reload-mercy');
  if (refused.length > 0) {
    throw new ConfigError(
      `${refused.join(', ')}: worker processes, harakiri and reloads belong to the uwrouter command; embedded routers run in the calling process`,
    );
  }
}

export async function startRouters(config: Config, log: Logger, version: string): Promise<RunningRouters> {
  const routers: CoreRouter[] = [];
  const closers: Array<() => Promise<void>> = [];
  let requestLog: RequestLog | null = null;
  applyOptionStatuses(config, log);
  const plans = checkRouterSet(config);
  refuseCommandOnlyOptions(config, plans);
  // caches exist before the routers (a router's X-use-cache reads one) and go after them
  const caches = CacheSystem.fromConfig(config, log);
  const close = async (): Promise<void> => {
    // the subscriber first, so its unsubscribe leaves before the routers go
    for (const c of closers.splice(0).reverse()) await c();
    await Promise.all(routers.map((r) => r.close()));
    await requestLog?.close();
    await caches.close();
  };
  const ownAddresses = configuredOwnAddresses(config);
  requestLog = requestLogFromConfig(config, log);
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
    for (const plan of plans) {
      const subscription = createSubscriptionSystemFromConfig(config, plan.name, log, {
        ownAddress: plan.listen[0],
        ownAddresses,
      });
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
      const router = plan.factory(config, log, extras);
      routers.push(router);
      // subscription certificates (sni_key/sni_crt) go to the router's TLS contexts
      const tls = routerTlsRuntime(router);
      if (subscription && tls) subscription.bindSni(tls.registry);
      if (sessionCache && tls) tls.resumption.useSessionCache(sessionCache);
      await router.start();
      for (const l of router.listeners) ownAddresses.add(l.name);
      if (router.statsName) ownAddresses.add(router.statsName);
      if (subscription) await subscription.listen();
      warnIfNoNodeSource(config, router, log);
    }
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
