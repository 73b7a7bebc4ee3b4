/**
 * Reads the common `X-*` options of one router into CoreRouter options, with errors that
 * name the option and the bad value.
 */
import type { Config, RouterName } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { unixSocketSettingsFromConfig } from '../process/unix-socket-mode.ts';
import type { RequestLog } from '../request-log.ts';
import { parseBackendAddress } from './address.ts';
import {
  baseMapper,
  cacheMapper,
  chooseMapper,
  type MapperCandidates,
  patternMapper,
  type RouteCacheLookup,
} from './mappers.ts';
import { DISPLAY_NAME } from './names.ts';
import type { CoreRouterOptions } from './router.ts';
import { StaticMapper } from './static-nodes.ts';
import type { BackendAddress, KeyMapper, NodeTableEvents, StatsSection } from './types.ts';

export function backendAddresses(config: Config, option: string): BackendAddress[] {
  return config.all(option).map((text) => {
    const r = parseBackendAddress(text);
    if (!r.ok) throw new ConfigError(`option "--${option}": ${r.error}`);
    return r.value;
  });
}

/** What a router adds to the common options (subscription table, its own listeners). */
export interface RouterExtras {
  listen: readonly string[];
  subscription?: {
    mapper: KeyMapper;
    stats: readonly StatsSection[];
    events: NodeTableEvents;
    socketNames: () => string[];
  };
  version: string;
  /** the process's request log (`--log-requests`, `--req-logger`), when one is configured */
  requestLog?: RequestLog;
  /** `X-use-cache NAME` ('' = the first cache): the cache, or why it cannot be used */
  routeCache?: (name: string) => RouteCacheLookup | string;
  /**
   * A cluster worker: listening sockets come from the primary (see CoreRouterOptions), which
   * also serves the stats socket for all workers.
   */
  openListener?: CoreRouterOptions['openListener'];
  startClosed?: CoreRouterOptions['startClosed'];
}

export function coreOptionsFromConfig(
  config: Config,
  prefix: RouterName,
  log: Logger,
  extras: RouterExtras,
): CoreRouterOptions {
  const o = (suffix: string): string => `${prefix}-${suffix}`;
  const statics = backendAddresses(config, o('to'));
  const fallbacks = backendAddresses(config, o('fallback'));
  const staticMapper =
    statics.length > 0 ? new StaticMapper(statics, config.int(o('gracetime')), prefix, log) : null;

  const candidates: MapperCandidates = {};
  if (config.has(o('use-cache'))) {
    const name = config.str(o('use-cache')) ?? '';
    const cache =
      extras.routeCache?.(name) ?? 'no cache is configured (--cache N or --cache2 name=..,items=..)';
    if (typeof cache === 'string') throw new ConfigError(`option "--${o('use-cache')}": ${cache}`);
    candidates.cache = () => cacheMapper(cache);
  }
  if (config.has(o('use-code-string'))) {
    throw new ConfigError(
      `option "--${o('use-code-string')}": code-string mappers call uWSGI language plugins, which uwrouter does not embed`,
    );
  }
  const pattern = config.str(o('use-pattern'));
  if (pattern) candidates.pattern = () => patternMapper(pattern);
  if (extras.subscription) {
    const m = extras.subscription.mapper;
    candidates.subscription = () => m;
  }
  const base = config.str(o('use-base'));
  if (base) candidates.base = () => baseMapper(base);
  if (config.has(o('use-socket'))) {
    const sockets = backendAddresses(config, 'socket');
    const n = Number(config.str(o('use-socket')) || '0');
    const target = sockets[n];
    if (!target) throw new ConfigError(`option "--${o('use-socket')}": there is no --socket number ${n}`);
    candidates.socket = () => new StaticMapper([target], config.int(o('gracetime')), prefix, log);
  }
  if (staticMapper) candidates.static = () => staticMapper;
  const { mapper, ignored } = chooseMapper(candidates);
  if (mapper && ignored.length > 0) {
    log.warn(
      `[uwrouter] ${prefix}: mapping with ${mapper.kind}; also configured but ignored (uWSGI uses one mapper): ${ignored.join(', ')}`,
    );
  }

  const timeoutMs = config.int(o('timeout')) * 1000;
  const connectTimeout = config.has(o('connect-timeout'))
    ? config.int(o('connect-timeout')) * 1000
    : timeoutMs;
  const statsSections: StatsSection[] = [];
  if (mapper === staticMapper && staticMapper) statsSections.push(staticMapper);
  if (extras.subscription) statsSections.push(...extras.subscription.stats);
  return {
    name: prefix,
    displayName: DISPLAY_NAME[prefix],
    listen: extras.listen,
    mapper,
    fallbacks,
    fallbackOnNoKey: prefix === 'fastrouter' && config.flag('fastrouter-fallback-on-no-key'),
    maxRetries: config.int(o('max-retries')),
    timeoutMs,
    connectTimeoutMs: connectTimeout,
    quiet: config.flag(o('quiet')),
    backlog: config.int('listen'),
    sharedSockets: config.all('shared-socket'),
    reusePort: config.flag('reuse-port'),
    unixSocket: unixSocketSettingsFromConfig(config),
    maxConnections: config.int(o('max-connections')),
    cheap: config.flag(o('cheap')),
    stats: extras.openListener ? undefined : config.str(o('stats')),
    statsHttp: config.flag('stats-http'),
    statsMinified: config.flag('stats-minified'),
    statsSections,
    nodeEvents: extras.subscription?.events,
    extraSocketNames: extras.subscription?.socketNames,
    log,
    version: extras.version,
    openListener: extras.openListener,
    startClosed: extras.startClosed,
  };
}
