/**
 * One router's subscription system assembled: table + receiver (+ signatures) + UDP server
 * + mapper + stats. `createSubscriptionSystemFromConfig` reads uWSGI's option names.
 */
import type { Config, RouterName } from '../config/config.ts';
import { DISPLAY_NAME } from '../corerouter/names.ts';
import type { NodeTableEvents, StatsSection } from '../corerouter/types.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { SUBSCRIPTION_ALGOS, type SubscriptionAlgo } from './balancers.ts';
import { Subscriber } from './client.ts';
import { parseSubscribe2, parseSubscribeTo, type SubscriptionTarget } from './client-spec.ts';
import { SubscriptionMapper } from './mapper.ts';
import type { OwnAddresses } from './own-addresses.ts';
import { SubscriptionReceiver } from './receiver.ts';
import type { SignedHistory } from './replay.ts';
import { type ResubscribeOptions, SubscriptionServer } from './server.ts';
import { PublicKeyStore, parseSignCheck, type SignCheck } from './signatures.ts';
import { SubscriptionCountersStats, SubscriptionsStats } from './stats.ts';
import {
  type SubscriptionClock,
  type SubscriptionSniSink,
  SubscriptionTable,
  type SubscriptionTableHooks,
} from './table.ts';

export interface SubscriptionSystemOptions {
  router: RouterName;
  logger: Logger;
  /** `X-subscription-server` addresses (UDP); may be empty (table fed another way) */
  servers: readonly string[];
  algo?: SubscriptionAlgo;
  tolerance?: number;
  dotsplit?: boolean;
  fallbackKey?: string;
  /** `subscriptions-sign-check` (several: first dir holding the key file wins) */
  signChecks?: readonly SignCheck[];
  signTolerance?: number;
  resubscribe?: ResubscribeOptions;
  clock?: SubscriptionClock;
  sweepIntervalMs?: number;
  hooks?: SubscriptionTableHooks;
  /** `subscription-max-keys` / `subscription-max-nodes` (0 = no bound) */
  maxKeys?: number;
  maxNodes?: number;
  /** `subscription-rcvbuf` bytes (0 = the system default) */
  rcvbuf?: number;
  /** every router's listeners and stats sockets in this process (`self` refusals) */
  ownAddresses?: OwnAddresses;
  /** the replay memory of the system this one replaces (a reload; see SubscriptionReceiver) */
  history?: SignedHistory;
}

export class SubscriptionSystem {
  readonly table: SubscriptionTable;
  readonly receiver: SubscriptionReceiver;
  readonly mapper: SubscriptionMapper;
  readonly server: SubscriptionServer;
  /** cheap-mode events (the table) */
  readonly events: NodeTableEvents;
  /** `subscriptions` (uWSGI) and `subscription_packets` (uwrouter) */
  readonly stats: readonly StatsSection[];

  /** Validates everything (throws ConfigError); nothing is bound until `listen()`. */
  constructor(opts: SubscriptionSystemOptions) {
    this.table = new SubscriptionTable({
      logger: opts.logger,
      router: opts.router,
      algo: opts.algo,
      tolerance: opts.tolerance,
      clock: opts.clock,
      sweepIntervalMs: opts.sweepIntervalMs,
      hooks: opts.hooks,
      maxKeys: opts.maxKeys,
      maxNodes: opts.maxNodes,
    });
    const checks = opts.signChecks ?? [];
    this.receiver = new SubscriptionReceiver(this.table, {
      logger: opts.logger,
      signing:
        checks.length > 0
          ? { store: new PublicKeyStore({ checks }), tolerance: opts.signTolerance }
          : undefined,
      ownAddresses: opts.ownAddresses,
      history: opts.history,
    });
    this.mapper = new SubscriptionMapper(this.table, {
      dotsplit: opts.dotsplit,
      fallbackKey: opts.fallbackKey,
    });
    try {
      this.server = new SubscriptionServer({
        addresses: opts.servers,
        receiver: this.receiver,
        logger: opts.logger,
        resubscribe: opts.resubscribe,
        option: `${opts.router}-subscription-server`,
        displayName: DISPLAY_NAME[opts.router],
        rcvbuf: opts.rcvbuf,
      });
    } catch (e) {
      this.table.close();
      throw e;
    }
    this.events = this.table;
    const server = this.server;
    this.stats = [
      new SubscriptionsStats(this.table),
      new SubscriptionCountersStats(this.receiver.counters, () => ({
        kernel: server.kernelDrops(),
        queue: server.queueDrops,
      })),
    ];
  }

  /** The router's TLS certificates by subscription (ssl-sni-sessions.md §4); bind before `listen()`. */
  bindSni(sink: SubscriptionSniSink): void {
    this.table.sni = sink;
  }

  listen(): Promise<void> {
    return this.server.listen();
  }

  async close(): Promise<void> {
    this.table.close();
    this.receiver.flushLog();
    await this.server.close();
  }
}

/** Values of an option this router may lack (rawrouter/sslrouter have no fallback key or resubscribe). */
function values(config: Config, name: string): readonly string[] {
  return config.isKnown(name) ? config.all(name) : [];
}

function last(config: Config, name: string): string | undefined {
  const v = values(config, name);
  return v.length > 0 ? v[v.length - 1] : undefined;
}

export interface FromConfigOptions {
  /** the router's first non-subscription listening address (for `X-resubscribe`) */
  ownAddress?: string;
  clock?: SubscriptionClock;
  hooks?: SubscriptionTableHooks;
  sweepIntervalMs?: number;
  /** the process's own listening sockets, shared by every router's subscription system */
  ownAddresses?: OwnAddresses;
}

/**
 * The subscription system of router `prefix`, or null when no `PREFIX-subscription-server`
 * is configured. Throws ConfigError for bad values.
 */
export function createSubscriptionSystemFromConfig(
  config: Config,
  prefix: RouterName,
  logger: Logger,
  opts: FromConfigOptions = {},
): SubscriptionSystem | null {
  const settings = subscriptionSettingsFromConfig(config, prefix, logger, opts);
  return settings ? new SubscriptionSystem(settings) : null;
}

/**
 * What a subscription system of router `prefix` would be built from (nothing is built or
 * bound), or null when no `PREFIX-subscription-server` is configured. Throws ConfigError.
 */
export function subscriptionSettingsFromConfig(
  config: Config,
  prefix: RouterName,
  logger: Logger,
  opts: FromConfigOptions = {},
): SubscriptionSystemOptions | null {
  const servers = values(config, `${prefix}-subscription-server`);
  if (servers.length === 0) return null;
  const algo = config.str('subscription-algo') ?? 'wrr';
  if (!(SUBSCRIPTION_ALGOS as readonly string[]).includes(algo)) {
    throw new ConfigError(`--subscription-algo "${algo}": expected one of ${SUBSCRIPTION_ALGOS.join(', ')}`);
  }
  const resubTargets = values(config, `${prefix}-resubscribe`);
  let resubscribe: ResubscribeOptions | undefined;
  if (resubTargets.length > 0) {
    if (!opts.ownAddress)
      throw new ConfigError(`--${prefix}-resubscribe needs a listening address to announce`);
    resubscribe = {
      targets: resubTargets,
      ownAddress: opts.ownAddress,
      bind: prefix === 'fastrouter' ? last(config, 'fastrouter-resubscribe-bind') : undefined,
    };
  }
  return {
    router: prefix,
    logger,
    servers,
    algo: algo as SubscriptionAlgo,
    tolerance: config.int('subscription-tolerance'),
    dotsplit: config.flag('subscription-dotsplit'),
    fallbackKey: last(config, `${prefix}-subscription-fallback-key`),
    signChecks: values(config, 'subscriptions-sign-check').map((v) => parseSignCheck(v)),
    signTolerance: config.int('subscriptions-sign-check-tolerance'),
    resubscribe,
    clock: opts.clock,
    hooks: opts.hooks,
    sweepIntervalMs: opts.sweepIntervalMs,
    maxKeys: config.int('subscription-max-keys'),
    maxNodes: config.int('subscription-max-nodes'),
    rcvbuf: config.int('subscription-rcvbuf'),
    ownAddresses: opts.ownAddresses,
  };
}

/**
 * The settings that need a new subscription system when a reload changes them (its UDP
 * sockets, receiver and table options); equal texts = keep the running one.
 */
export function subscriptionFingerprint(o: SubscriptionSystemOptions): string {
  return JSON.stringify([
    o.router,
    o.servers,
    o.algo,
    o.tolerance,
    o.dotsplit,
    o.fallbackKey,
    o.signChecks,
    o.signTolerance,
    o.resubscribe,
    o.maxKeys,
    o.maxNodes,
    o.rcvbuf,
  ]);
}

/**
 * The node-side announcer from `subscribe-to` / `subscribe2` / `subscribe-freq` / `weight` /
 * `subscribe-with-modifier1`, or null when none is configured. `sockets` = the process's
 * own `--socket` addresses (the first one is announced by default).
 */
export function createSubscriberFromConfig(
  config: Config,
  logger: Logger,
  opts: { sockets: readonly string[]; cores?: number },
): Subscriber | null {
  const targets: SubscriptionTarget[] = [];
  for (const v of values(config, 'subscribe-to')) targets.push(...parseSubscribeTo(v));
  for (const v of values(config, 'subscribe2')) targets.push(parseSubscribe2(v));
  if (targets.length === 0) return null;
  const m1 = last(config, 'subscribe-with-modifier1');
  return new Subscriber({
    targets,
    defaultAddress: opts.sockets[0],
    sockets: opts.sockets,
    weight: config.int('weight'),
    modifier1: m1 !== undefined ? Number(m1) : undefined,
    cores: opts.cores ?? 1,
    freq: config.int('subscribe-freq'),
    logger,
  });
}
