/**
 * Options shared by every corerouter-based router, generated per router prefix from one
 * template so names, defaults and ranges cannot drift apart between routers.
 * spec: corerouter.md §2 (availability matrix and defaults)
 */

import type { OptionKind, OptionSpec, OptionStatus, RouterName } from './config.ts';
import { LISTENERS, ROUTER_SPECIFIC } from './options-listeners.ts';

const ALL: readonly RouterName[] = ['fastrouter', 'rawrouter', 'sslrouter', 'http'];
const FAST_HTTP: readonly RouterName[] = ['fastrouter', 'http'];

/** How operators and logs name each router. */
const TITLE: Record<RouterName, string> = {
  fastrouter: 'fastrouter',
  rawrouter: 'rawrouter',
  sslrouter: 'sslrouter',
  http: 'HTTP router',
};

interface CommonOption {
  suffix: string;
  aliases?: readonly string[];
  kind: OptionKind;
  repeatable?: boolean;
  default?: string;
  min?: number;
  max?: number;
  words?: readonly string[];
  valueName?: string;
  implicit?: string;
  noop?: boolean;
  /** per router, since the reason can differ (see OptionStatus) */
  status?: (router: RouterName) => OptionStatus;
  routers: readonly RouterName[];
  help: (title: string) => string;
}

const COMMON: readonly CommonOption[] = [
  {
    suffix: 'processes',
    aliases: ['workers'],
    kind: 'int',
    default: '1',
    min: 1,
    max: 64,
    words: ['auto'],
    valueName: 'N',
    routers: ALL,
    help: (t) =>
      `number of ${t} worker processes accepting on the same listening sockets, or auto (one per CPU core)`,
  },
  {
    suffix: 'events',
    kind: 'int',
    default: '64',
    min: 1,
    max: 65536,
    valueName: 'N',
    routers: ALL,
    status: () => ({ noop: 'one Node.js event loop handles every event as it comes' }),
    help: () => 'maximum events handled per event-loop wakeup',
  },
  {
    suffix: 'to',
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    routers: ALL,
    help: (t) => `static backend node (ip:port or UNIX path); repeat for round robin across ${t} nodes`,
  },
  {
    suffix: 'use-cache',
    kind: 'string',
    implicit: '',
    valueName: 'NAME',
    routers: ALL,
    help: () =>
      'map the key to the node its cache item names: "ADDR[,MOD1]", or "A1|A2" (several, taken in turn); no value = the first cache',
  },
  {
    suffix: 'use-pattern',
    kind: 'string',
    valueName: 'PATTERN',
    routers: ALL,
    help: () => 'map the key to a node address by replacing %s in PATTERN with the key (%% = %)',
  },
  {
    suffix: 'use-base',
    kind: 'string',
    valueName: 'PREFIX',
    routers: ALL,
    help: () => 'map the key to the node address PREFIX + key (no separator is added)',
  },
  {
    suffix: 'use-code-string',
    kind: 'string',
    valueName: 'MOD:FILE:FUNC',
    routers: ALL,
    status: () => ({
      refuse: 'code-string mappers call uWSGI language plugins, which uwrouter does not embed',
    }),
    help: () => 'uWSGI plugin mapper: call FUNC from FILE in the plugin with modifier MOD to map the key',
  },
  {
    suffix: 'use-socket',
    kind: 'int',
    implicit: '0',
    min: 0,
    max: 1023,
    valueName: 'N',
    routers: ALL,
    help: () => 'forward every request to the N-th --socket of this instance (0-based; no value = 0)',
  },
  {
    suffix: 'subscription-server',
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    routers: ALL,
    help: () => 'receive node subscriptions on this UDP ip:port (or UNIX datagram path)',
  },
  {
    suffix: 'subscription-fallback-key',
    kind: 'string',
    valueName: 'KEY',
    routers: FAST_HTTP,
    help: () => 'use the subscription pool KEY when the request key has no usable node',
  },
  {
    suffix: 'fallback',
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    routers: ALL,
    help: () => 'node tried after a failed connect; repeat for an ordered list (1st retry → 1st fallback)',
  },
  {
    suffix: 'max-retries',
    kind: 'int',
    default: '3',
    min: 0,
    max: 1000,
    valueName: 'N',
    routers: ALL,
    help: () => 'connect attempts after the first one fails before the client connection is closed',
  },
  {
    suffix: 'gracetime',
    kind: 'int',
    default: '30',
    min: 0,
    valueName: 'SECONDS',
    routers: ALL,
    help: () => 'how long a static node that failed to connect is skipped',
  },
  {
    suffix: 'timeout',
    kind: 'int',
    default: '60',
    min: 0,
    valueName: 'SECONDS',
    routers: ALL,
    help: () => 'close a client or node connection idle for this long',
  },
  {
    suffix: 'connect-timeout',
    kind: 'int',
    min: 1,
    valueName: 'SECONDS',
    routers: ['fastrouter', 'rawrouter', 'sslrouter'],
    help: (t) =>
      `give up a ${t} node connect after this long and try the next (default: the ${t} timeout, as uWSGI)`,
  },
  {
    suffix: 'quiet',
    kind: 'flag',
    routers: ALL,
    help: () => 'do not log "unable to connect() to node" lines',
  },
  {
    suffix: 'cheap',
    kind: 'flag',
    routers: ALL,
    help: () => 'stop accepting clients while no node is subscribed; accept again on the first subscription',
  },
  {
    suffix: 'stats',
    aliases: ['stats-server', 'ss'],
    kind: 'string',
    valueName: 'ADDR',
    routers: ALL,
    help: (t) => `serve the ${t} stats JSON on this TCP ip:port or UNIX path`,
  },
  {
    suffix: 'harakiri',
    kind: 'int',
    default: '0',
    min: 0,
    valueName: 'SECONDS',
    routers: ALL,
    help: (t) =>
      `kill and replace a ${t} worker process whose event loop is stuck this long (its clients are closed; 0 = off)`,
  },
  {
    suffix: 'zerg',
    kind: 'string',
    repeatable: true,
    valueName: 'SOCKET',
    routers: ALL,
    status: () => ({
      refuse: 'zerg servers pass listening sockets with SCM_RIGHTS, which Node.js cannot receive',
    }),
    help: () => 'take listening sockets from the zerg server at this UNIX path',
  },
  {
    suffix: 'resubscribe',
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    routers: FAST_HTTP,
    help: () => 'forward every accepted (un)subscription to this upstream subscription server (federation)',
  },
  {
    suffix: 'buffer-size',
    kind: 'int',
    default: '4096',
    min: 1,
    max: 16 * 1024 * 1024,
    valueName: 'BYTES',
    routers: ALL,
    status: (r) =>
      r === 'rawrouter'
        ? 'implemented'
        : {
            noop:
              r === 'http'
                ? 'Node.js sizes socket reads itself; request heads are bounded by --http-max-head'
                : r === 'fastrouter'
                  ? 'Node.js sizes socket reads itself; a uwsgi head is read whole (≤ 64 KiB), as uWSGI grows its buffer'
                  : 'Node.js sizes socket reads itself',
          },
    help: (t) =>
      t === 'rawrouter'
        ? 'largest SMTP greeting read from a node for --rawrouter-xclient (Node.js sizes socket reads itself)'
        : 'size of each read from a client or node',
  },
  {
    suffix: 'subscription-slot',
    kind: 'string',
    valueName: 'N',
    status: () => ({ noop: 'deprecated in uWSGI 2.0, where it does nothing either' }),
    routers: ['fastrouter', 'rawrouter'],
    help: () => 'number of subscription slots (uWSGI 1.x)',
  },
  {
    suffix: 'uid',
    kind: 'string',
    valueName: 'USER',
    routers: FAST_HTTP,
    help: (t) =>
      `run as this user (name or number) after binding; uwrouter's routers share their processes, so this ` +
      `is --uid for all of them and must agree with --uid and the other routers' (the ${t} alone in uWSGI)`,
  },
  {
    suffix: 'gid',
    kind: 'string',
    valueName: 'GROUP',
    routers: FAST_HTTP,
    help: (t) =>
      `run as this group (name or number) after binding; the group of the whole process, like --gid, so it ` +
      `must agree with --gid and the other routers' (the ${t} alone in uWSGI)`,
  },
  {
    suffix: 'max-connections',
    kind: 'int',
    default: '0',
    min: 0,
    max: 10_000_000,
    valueName: 'N',
    routers: ALL,
    help: (t) =>
      `at most N open ${t} client connections at once in each worker process (N per process: ` +
      `X-processes 4 lets 4N in all; 0 = no limit); past it a new client ` +
      `${t === TITLE.http ? 'gets a 503 with Connection: close' : 'is closed'}, counted as ` +
      'UWR_ERR_MAX_CONNECTIONS (uwrouter; uWSGI has no such bound)',
  },
];

function commonOptionsFor(router: RouterName): OptionSpec[] {
  const out: OptionSpec[] = [];
  for (const c of COMMON) {
    if (!c.routers.includes(router)) continue;
    const spec: OptionSpec = {
      name: `${router}-${c.suffix}`,
      kind: c.kind,
      help: c.help(TITLE[router]),
      group: router,
      valueName: c.valueName ?? (c.kind === 'flag' ? 'BOOL' : 'VALUE'),
    };
    if (c.aliases) spec.aliases = c.aliases.map((a) => `${router}-${a}`);
    if (c.repeatable) spec.repeatable = true;
    if (c.default !== undefined) spec.default = c.default;
    if (c.min !== undefined) spec.min = c.min;
    if (c.max !== undefined) spec.max = c.max;
    if (c.words !== undefined) spec.words = c.words;
    if (c.implicit !== undefined) spec.implicit = c.implicit;
    if (c.noop) spec.status = { noop: spec.help };
    if (c.status) spec.status = c.status(router);
    out.push(spec);
  }
  return out;
}

function byRouter(router: RouterName): OptionSpec[] {
  return [
    ...LISTENERS.filter((o) => o.group === router),
    ...commonOptionsFor(router),
    ...ROUTER_SPECIFIC.filter((o) => o.group === router),
  ];
}

export const FASTROUTER_OPTIONS: readonly OptionSpec[] = byRouter('fastrouter');
export const RAWROUTER_OPTIONS: readonly OptionSpec[] = byRouter('rawrouter');
export const SSLROUTER_OPTIONS: readonly OptionSpec[] = byRouter('sslrouter');
/** HTTP router listeners and common options; HTTP-only options live in options-http.ts */
export const HTTP_COMMON_OPTIONS: readonly OptionSpec[] = byRouter('http');
