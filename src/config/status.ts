/**
 * The one place where option statuses (OptionSpec.status) take effect at start-up: every
 * refused option is a start-up error (all of them listed at once), every accepted-with-a-
 * warning option one warning line. Options of a router that has no listener are refused
 * too, naming the missing listener, so nothing a config asks for is skipped silently.
 */
import { ConfigError } from '../errors.ts';
import type { Config, OptionSpec, OptionStatus, RouterName } from './config.ts';
import { OPTIONS } from './registry.ts';

/** The routers whose options are checked against their listeners. */
const ROUTERS: readonly RouterName[] = ['fastrouter', 'rawrouter', 'sslrouter', 'http'];
const ROUTER_TITLE: Record<string, string> = {
  fastrouter: 'fastrouter',
  rawrouter: 'rawrouter',
  sslrouter: 'sslrouter',
  http: 'HTTP router',
};

/** Listening options that terminate TLS: the `tls` group's options act only with one of them. */
const TLS_LISTENERS: readonly string[] = ['sslrouter', 'sslrouter2', 'https', 'https2'];

/**
 * Groups of options that only matter when one of their enabling options is given: set
 * without it they change nothing, which is worth a warning (not an error: uWSGI configs
 * often carry such settings globally).
 */
const FEATURES: ReadonlyArray<{ group: string; title: string; enabledBy: (o: OptionSpec) => boolean }> = [
  {
    group: 'subscription',
    title:
      'no subscription server is configured (--fastrouter-subscription-server, --http-subscription-server)',
    enabledBy: (o) => o.name.endsWith('-subscription-server'),
  },
  {
    group: 'subscribe',
    title: 'nothing is announced (no --subscribe-to or --subscribe2)',
    enabledBy: (o) => o.name === 'subscribe-to' || o.name === 'subscribe2',
  },
  {
    group: 'tls',
    title: `no TLS listener is configured (${OPTIONS.filter(
      (o) => TLS_LISTENERS.includes(o.name) && isImplemented(o),
    )
      .map((o) => `--${o.name}`)
      .join(', ')})`,
    enabledBy: (o) => TLS_LISTENERS.includes(o.name),
  },
];

/** The normalised status of an option ('implemented' when none is given). */
export function statusOf(spec: OptionSpec): OptionStatus {
  if (spec.status !== undefined) return spec.status;
  if (spec.noop) return { noop: spec.help };
  return 'implemented';
}

export function isImplemented(spec: OptionSpec): boolean {
  return statusOf(spec) === 'implemented';
}

/**
 * Is the option set to something that would matter? Given, and (for single-valued options)
 * its last value is neither its default nor off: `--http-harakiri 0`, `--fastrouter-processes 1`
 * and `--ssl-verbose false` ask for nothing uwrouter lacks.
 */
export function isSet(spec: OptionSpec, values: readonly string[]): boolean {
  if (values.length === 0) return false;
  if (spec.repeatable) return true;
  const v = values[values.length - 1];
  if (spec.default !== undefined && v === spec.default) return false;
  if ((spec.kind === 'flag' || spec.kind === 'optional-int') && v === '0') return false;
  return true;
}

export interface StatusReport {
  /** start-up errors, one line each */
  refused: string[];
  /** warning lines */
  warnings: string[];
}

/** Listener options of each router, from the registry. */
function listenersOf(router: RouterName): OptionSpec[] {
  return OPTIONS.filter((o) => o.group === router && o.listener === true);
}

/** What the statuses of the given options mean for this configuration (pure). */
export function checkOptionStatuses(config: Config): StatusReport {
  const refused: string[] = [];
  const warnings: string[] = [];
  const routersWithoutListener = new Map<string, OptionSpec[]>();
  for (const r of ROUTERS) {
    const listeners = listenersOf(r);
    if (!listeners.some((l) => config.peek(l.name).length > 0)) routersWithoutListener.set(r, listeners);
  }
  const idleFeatures = new Map<string, string>();
  for (const f of FEATURES) {
    if (!OPTIONS.some((o) => f.enabledBy(o) && config.peek(o.name).length > 0))
      idleFeatures.set(f.group, f.title);
  }
  for (const spec of OPTIONS) {
    const values = config.peek(spec.name);
    if (!isSet(spec, values)) continue;
    const status = statusOf(spec);
    const shown = `--${spec.name}`;
    if (typeof status === 'object' && 'refuse' in status) {
      refused.push(`option "${shown}": ${status.refuse}`);
      continue;
    }
    const missing = routersWithoutListener.get(spec.group);
    if (missing && !spec.listener) {
      const names = missing.filter(isImplemented).map((l) => `--${l.name}`);
      const title = ROUTER_TITLE[spec.group];
      const give = names.length > 0 ? `give ${names.join(' or ')}` : `the ${title} is not implemented yet`;
      refused.push(`option "${shown}" configures the ${title}, which has no listener here (${give})`);
      continue;
    }
    if (typeof status === 'object' && 'warn' in status) warnings.push(`[uwrouter] ${shown}: ${status.warn}`);
    else if (status === 'implemented' && idleFeatures.has(spec.group)) {
      warnings.push(`[uwrouter] ${shown}: no effect: ${idleFeatures.get(spec.group)}`);
    }
  }
  return { refused, warnings };
}

/**
 * Apply the statuses: one ConfigError listing every refused option, else one warning line per
 * accepted-but-not-honoured option. Called once, by startRouters, before anything binds.
 */
export function applyOptionStatuses(config: Config, log: { warn(msg: string): void }): void {
  const { refused, warnings } = checkOptionStatuses(config);
  if (refused.length === 1) throw new ConfigError(refused[0]);
  if (refused.length > 1) {
    throw new ConfigError(`${refused.length} options cannot be honoured:\n  ${refused.join('\n  ')}`);
  }
  for (const w of warnings) log.warn(w);
}
