/**
 * Everything about a configuration the primary can check before it binds or forks anything,
 * at start and on every reload (an invalid new configuration must change nothing): option
 * statuses, the router set, process counts, subscription settings, and a dry build of every
 * router (the same factories the workers run, with nothing bound).
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { cacheConfigFromConfig } from '../cache/from-config.ts';
import { routeCacheName } from '../cache/system.ts';
import type { Config, RouterName } from '../config/config.ts';
import { checkOptionStatuses } from '../config/status.ts';
import type { RouterExtras } from '../corerouter/from-config.ts';
import { ConfigError } from '../errors.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { type ProcessSettings, processSettingsFromConfig } from '../main.ts';
import { checkRouterSet, type RouterPlan, warnIfNoNodeSource } from '../start.ts';
import { SubscriptionMapper } from '../subscription/mapper.ts';
import { type SubscriptionSystemOptions, subscriptionSettingsFromConfig } from '../subscription/system.ts';
import { SubscriptionTable } from '../subscription/table.ts';
import { recordPemReads } from '../tls/pem-files.ts';
import { routerTlsRuntime } from '../tls/router-runtime.ts';
import type { ConfigEntries } from './messages.ts';
import { checkOnlyStore, clusterSessionCache } from './session-cache.ts';

export interface CheckedConfig {
  config: Config;
  settings: ProcessSettings;
  /** accepted-but-not-honoured options, one line each (logged by the caller) */
  warnings: string[];
  plans: RouterPlan[];
  /** workers per router (`X-processes`, `auto` = CPU cores) */
  processes: Map<RouterName, number>;
  /** `X-harakiri` in ms (0 = off) */
  harakiriMs: Map<RouterName, number>;
  subscriptions: Map<RouterName, SubscriptionSystemOptions>;
  /** `reload-mercy` in ms */
  mercyMs: number;
  /**
   * each router's listening addresses as its factory derives them (`http-to-https ADDR,PORT`
   * listens on ADDR): the texts the primary binds and the workers ask for
   */
  listen: Map<RouterName, readonly string[]>;
  /** the routers that terminate TLS (sslrouter, HTTP router with HTTPS listeners) */
  tlsRouters: Set<RouterName>;
  /** the certificate files the check read, by path: what the workers are given (pem-files.ts) */
  pem: Array<[string, string]>;
  /** files the check could not read any more (after the privilege drop) and took as read at start */
  pemDenied: string[];
}

/** Stands for a cache in the dry build (nothing is looked up in it). */
const NO_ROUTES = { lookupRoute: () => undefined, has: () => false };

/** `X-processes`: a number 1..64 (checked at load) or `auto`. */
export function processCount(config: Config, router: RouterName): number {
  const v = config.str(`${router}-processes`) ?? '1';
  if (v === 'auto') return Math.max(1, Math.min(64, availableParallelism()));
  return Number(v);
}

/**
 * Throws ConfigError with every problem; `log` becomes the subscription systems' logger.
 * `atStart`: the first start's check (before the privilege drop): the certificate files it
 * reads are what a later check falls back to when it may not read them any more.
 */
export function checkConfig(config: Config, log: Logger, opts: { atStart?: boolean } = {}): CheckedConfig {
  const settings = processSettingsFromConfig(config);
  const { refused, warnings } = checkOptionStatuses(config);
  if (refused.length === 1) throw new ConfigError(refused[0]);
  if (refused.length > 1) {
    throw new ConfigError(`${refused.length} options cannot be honoured:\n  ${refused.join('\n  ')}`);
  }
  const plans = checkRouterSet(config);
  const processes = new Map<RouterName, number>();
  const harakiriMs = new Map<RouterName, number>();
  const subscriptions = new Map<RouterName, SubscriptionSystemOptions>();
  const listen = new Map<RouterName, readonly string[]>();
  const cacheSpecs = cacheConfigFromConfig(config).specs;
  // --ssl-sessions-use-cache: the same start-up errors as startRouters (the workers use it)
  clusterSessionCache(config, cacheSpecs, checkOnlyStore, log);
  const tlsRouters = new Set<RouterName>();
  const pem = recordPemReads(opts.atStart === true);
  try {
    for (const plan of plans) {
      processes.set(plan.name, processCount(config, plan.name));
      harakiriMs.set(plan.name, config.int(`${plan.name}-harakiri`) * 1000);
      const sub = subscriptionSettingsFromConfig(config, plan.name, log, { ownAddress: plan.listen[0] });
      if (sub) subscriptions.set(plan.name, sub);
      const built = dryBuild(config, plan, sub !== null, log, (name) => {
        const r = routeCacheName(cacheSpecs, name);
        return typeof r === 'string' ? r : NO_ROUTES;
      });
      listen.set(plan.name, built.listen);
      if (built.tls) tlsRouters.add(plan.name);
    }
  } finally {
    pem.stop();
  }
  config.all('touch-reload');
  return {
    config,
    settings,
    warnings,
    plans,
    processes,
    harakiriMs,
    subscriptions,
    mercyMs: config.int('reload-mercy') * 1000,
    listen,
    tlsRouters,
    pem: pem.stop(),
    pemDenied: pem.denied(),
  };
}

/**
 * Builds the router as a worker would (options read, mappers chosen), binds nothing; what the
 * build warns about is logged here, once (workers build theirs without those lines).
 */
function dryBuild(
  config: Config,
  plan: RouterPlan,
  subscribed: boolean,
  log: Logger,
  routeCache: RouterExtras['routeCache'],
): { listen: readonly string[]; tls: boolean } {
  const table = subscribed ? new SubscriptionTable({ logger: silentLogger(), sweepIntervalMs: 0 }) : null;
  const router = plan.factory(config, log, {
    version: 'check',
    routeCache,
    subscription: table
      ? { mapper: new SubscriptionMapper(table), stats: [], events: table, socketNames: () => [] }
      : undefined,
  });
  warnIfNoNodeSource(config, router, log);
  void router.close();
  return { listen: router.opts.listen, tls: routerTlsRuntime(router) !== undefined };
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The values the primary sends a worker (its Config is rebuilt from them). */
export function configEntries(config: Config): ConfigEntries {
  return config.given().map((name) => [name, [...config.peek(name)]]);
}
