/**
 * The one option registry: every option uwrouter accepts, by canonical name and alias.
 * Option definitions live per area in options-*.ts.
 */

import type { OptionSpec } from './config.ts';
import { CACHE_OPTIONS } from './options-cache.ts';
import {
  FASTROUTER_OPTIONS,
  HTTP_COMMON_OPTIONS,
  RAWROUTER_OPTIONS,
  SSLROUTER_OPTIONS,
} from './options-corerouter.ts';
import { COMPAT_OPTIONS, GLOBAL_OPTIONS } from './options-global.ts';
import { HTTP_OPTIONS } from './options-http.ts';
import { SUBSCRIPTION_CLIENT_OPTIONS, SUBSCRIPTION_SERVER_OPTIONS } from './options-subscription.ts';
import { TLS_OPTIONS } from './options-tls.ts';

/** Option groups in --help order, with their headings. */
export const OPTION_GROUPS: readonly { group: string; title: string }[] = [
  { group: 'uwrouter', title: 'uwrouter' },
  { group: 'fastrouter', title: 'fastrouter (uwsgi protocol in, uwsgi out)' },
  { group: 'rawrouter', title: 'rawrouter (TCP pass-through)' },
  { group: 'sslrouter', title: 'sslrouter (TLS termination, then TCP pass-through)' },
  { group: 'http', title: 'HTTP/HTTPS router' },
  { group: 'subscription', title: 'subscription server (all routers)' },
  { group: 'subscribe', title: 'subscription client (announcing to other routers)' },
  { group: 'tls', title: 'TLS and SNI (https, sslrouter)' },
  { group: 'cache', title: 'uWSGI cache' },
  { group: 'global', title: 'global' },
  { group: 'compat', title: 'uWSGI options accepted for compatibility (no effect)' },
];

export const OPTIONS: readonly OptionSpec[] = [
  ...GLOBAL_OPTIONS.filter((o) => o.group === 'uwrouter'),
  ...FASTROUTER_OPTIONS,
  ...RAWROUTER_OPTIONS,
  ...SSLROUTER_OPTIONS,
  ...HTTP_COMMON_OPTIONS,
  ...HTTP_OPTIONS,
  ...SUBSCRIPTION_SERVER_OPTIONS,
  ...SUBSCRIPTION_CLIENT_OPTIONS,
  ...TLS_OPTIONS,
  ...CACHE_OPTIONS,
  ...GLOBAL_OPTIONS.filter((o) => o.group !== 'uwrouter'),
  ...COMPAT_OPTIONS,
];

function indexOptions(options: readonly OptionSpec[]): Map<string, OptionSpec> {
  const byName = new Map<string, OptionSpec>();
  for (const spec of options) {
    for (const n of [spec.name, ...(spec.aliases ?? [])]) {
      // A clash would silently shadow an option: fail at startup (and in the tests).
      if (byName.has(n)) throw new Error(`internal: option name "${n}" is defined twice`);
      byName.set(n, spec);
    }
  }
  return byName;
}

/** Every canonical name and alias → its spec. */
export const OPTION_INDEX: ReadonlyMap<string, OptionSpec> = indexOptions(OPTIONS);

/** The spec for a canonical name or alias, or undefined. */
export function findOption(name: string): OptionSpec | undefined {
  return OPTION_INDEX.get(name);
}

/** Every name and alias, for suggestions. */
export function optionNames(): string[] {
  return [...OPTION_INDEX.keys()];
}
