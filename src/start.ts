/**
 * Builds and starts every router the configuration names (with its subscription system),
 * and the subscribe client, in this process; returns one handle to stop them all. This is
 * the embedded form (`startRouters` in the package API, and the unit tests); the `uwrouter`
 * command runs the same routers in worker processes under a primary (src/cluster/), which
 * shares the plans and checks below.
 */
import type { Config, RouterName } from './config/config.ts';
import { OPTIONS } from './config/registry.ts';
import { applyOptionStatuses, isImplemented } from './config/status.ts';
import type { RouterExtras } from './corerouter/from-config.ts';
import type { CoreRouter } from './corerouter/router.ts';
import { ConfigError } from './errors.ts';
import { createFastrouter } from './fastrouter/index.ts';
import { createHttpRouter } from './http-router/index.ts';
import type { Logger } from './logger.ts';
import { createRawrouter } from './rawrouter/index.ts';
import { OwnAddresses } from './subscription/own-addresses.ts';
import { createSubscriberFromConfig, createSubscriptionSystemFromConfig } from './subscription/system.ts';

export interface RunningRouters {
  routers: CoreRouter[];
  close(): Promise<void>;
}

export type RouterFactory = (config: Config, log: Logger, extras: Omit<RouterExtras, 'listen'>) => CoreRouter;

/** Each router, and the listener options that make it run (the first names its own address). */
const FACTORIES: Array<[RouterName, RouterFactory, readonly string[]]> = [
  ['fastrouter', createFastrouter, ['fastrouter']],
  ['rawrouter', createRawrouter, ['rawrouter']],
  ['http', createHttpRouter, ['http', 'http-to-https']],
];

/** One router the configuration runs: its factory and its listening addresses as given. */
export interface RouterPlan {
  name: RouterName;
  factory: RouterFactory;
  listen: readonly string[];
}

/** Every router with a listener, in a fixed order. */
export function routerPlans(config: Config): RouterPlan[] {
  const out: RouterPlan[] = [];
  for (const [name, factory, listenOptions] of FACTORIES) {
    const listen = listenOptions.flatMap((o) => config.all(o));
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

/** Every router's configured listeners and stats sockets (bound names are added once bound). */
export function configuredOwnAddresses(config: Config): OwnAddresses {
  const own = new OwnAddresses();
  for (const [name, , listenOptions] of FACTORIES) {
    for (const o of [...listenOptions, `${name}-stats`]) for (const a of config.all(o)) own.add(a);
  }
  return own;
}

/** A router with no way to find a node closes every request: say so once. */
export function warnIfNoNodeSource(config: Config, router: CoreRouter, log: Logger): void {
  // a redirect-only HTTP router (http-to-https) needs no nodes
  const name = router.opts.name as RouterName;
  if (config.all(name).length > 0 && !router.mapper && router.opts.fallbacks.length === 0) {
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
  const close = async (): Promise<void> => {
    // the subscriber first, so its unsubscribe leaves before the routers go
    for (const c of closers.splice(0).reverse()) await c();
    await Promise.all(routers.map((r) => r.close()));
  };
  applyOptionStatuses(config, log);
  const plans = checkRouterSet(config);
  refuseCommandOnlyOptions(config, plans);
  // every router's listeners and stats sockets: no subscription may name one (a node at the
  // router's own listener is a request loop). Configured now, bound names once listening.
  const ownAddresses = configuredOwnAddresses(config);
  try {
    for (const plan of plans) {
      const subscription = createSubscriptionSystemFromConfig(config, plan.name, log, {
        ownAddress: plan.listen[0],
        ownAddresses,
      });
      const extras: Omit<RouterExtras, 'listen'> = { version: `${version}-uwrouter` };
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
  return { routers, close };
}
