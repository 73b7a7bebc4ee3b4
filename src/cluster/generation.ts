/**
 * The parts of a generation (Primary.apply) that depend on the new configuration alone: each
 * router's worker group, and which subscription systems are kept, started or rebuilt. The
 * Primary owns what these are given (runtimes, caches, inherited files) and the switch.
 * spec: corerouter.md §1 (process model), §7 (cheap mode on a shared port)
 */
import type { RouterName } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { OwnAddresses } from '../subscription/own-addresses.ts';
import {
  type SubscriptionSystemOptions as SubscriptionSettings,
  subscriptionFingerprint,
} from '../subscription/system.ts';
import type { RouterSockets } from './bound-sockets.ts';
import { type CheckedConfig, configEntries } from './config-check.ts';
import type { InstanceServices } from './instance-services.ts';
import { RouterGroup, UNWRITTEN_ITEMS_LIMIT } from './router-group.ts';
import { buildSubscribed, type RouterRuntime, type Subscribed } from './router-runtime.ts';
import type { WorkerFiles } from './worker-files.ts';

/** What the subscriber announces depends on these (and on the listener names). */
const SUBSCRIBER_OPTIONS = [
  'subscribe-to',
  'subscribe2',
  'subscribe-with-modifier1',
  'weight',
  'subscribe-freq',
];

/** Two configurations whose prints are equal announce the same (the subscriber is kept). */
export function subscriberPrint(checked: CheckedConfig, socketNames: readonly string[]): string {
  return JSON.stringify([socketNames, ...SUBSCRIBER_OPTIONS.map((o) => checked.config.peek(o))]);
}

/**
 * `--X-cheap` with `--reuse-port`, and a subscription server (without one the router is never
 * cheap: nothing would bind its sockets again): see RouterRuntime.cheapSharesPort
 */
export function cheapSharesPort(checked: CheckedConfig, router: RouterName): boolean {
  const config = checked.config;
  return config.flag(`${router}-cheap`) && config.flag('reuse-port') && checked.subscriptions.has(router);
}

export interface SubscriptionPlan {
  /** each router's subscription system for the new generation (kept or new) */
  feeds: Map<RouterName, Subscribed>;
  /** the new ones, bound but not yet listening (closed again if the generation fails) */
  started: Subscribed[];
  /** kept systems whose settings changed: rebuilt after the switch */
  rebuild: Map<RouterName, SubscriptionSettings>;
}

/** A router's running subscription system is kept (its table survives the reload); a first one is built. */
export function planSubscriptions(
  checked: CheckedConfig,
  runtimes: ReadonlyMap<RouterName, RouterRuntime>,
  ownAddresses: OwnAddresses,
): SubscriptionPlan {
  const plan: SubscriptionPlan = { feeds: new Map(), started: [], rebuild: new Map() };
  try {
    for (const [name, settings] of checked.subscriptions) {
      const s = { ...settings, ownAddresses };
      const old = runtimes.get(name)?.subscribed;
      if (old) {
        if (old.fingerprint !== subscriptionFingerprint(s)) plan.rebuild.set(name, s);
        plan.feeds.set(name, old);
        continue;
      }
      const sub = buildSubscribed(s);
      plan.started.push(sub);
      plan.feeds.set(name, sub);
    }
  } catch (e) {
    for (const sub of plan.started) void sub.system.close();
    throw e;
  }
  return plan;
}

export interface GroupContext {
  checked: CheckedConfig;
  generation: number;
  version: string;
  log: Logger;
  byRouter: RouterSockets;
  subscriptions: SubscriptionPlan;
  services: InstanceServices | null;
  files: WorkerFiles;
  runtimes: ReadonlyMap<RouterName, RouterRuntime>;
  /** false while the primary stops */
  canRespawn: () => boolean;
}

/** One router's worker group for the new generation (not started). */
export function routerGroup(router: RouterName, ctx: GroupContext): RouterGroup {
  const { checked, services, runtimes } = ctx;
  const config = checked.config;
  const sub = ctx.subscriptions.feeds.get(router);
  const sockets = ctx.byRouter.get(router) ?? [];
  const cacheFeeds = services?.feedsFor(config, router, checked.tlsRouters.has(router)) ?? [];
  return new RouterGroup({
    spec: {
      router,
      generation: ctx.generation,
      config: configEntries(config),
      version: ctx.version,
      sockets,
      feeds: [...(sub ? [sub.feed] : []), ...cacheFeeds],
      cwd: checked.settings.chdir ?? process.cwd(),
      inherited: () => ctx.files.inherited(),
      pem: checked.pem,
    },
    count: checked.processes.get(router) ?? 1,
    harakiriMs: checked.harakiriMs.get(router) ?? 0,
    unwrittenLimit: UNWRITTEN_ITEMS_LIMIT,
    log: ctx.log,
    onReport: (_w, table, items) => {
      if (table.startsWith('cache:')) services?.applyReports(table, items);
      else runtimes.get(router)?.applyReports(table, items);
    },
    canRespawn: ctx.canRespawn,
    onWantSockets: () => {
      // a released socket (cheap mode on a shared port) is bound again for a worker that
      // accepts: a node came, or this configuration is not cheap
      const rt = runtimes.get(router);
      if (!cheapSharesPort(checked, router) || rt?.tableEmpty === false) rt?.bindReleased(sockets, ctx.log);
    },
  });
}
