/**
 * Instance-wide options, uwrouter's own options, and options that appear in real uWSGI
 * router configs but mean nothing for a pure router (accepted so those configs load).
 * spec: corerouter.md §2 (global options), §6 (shared sockets), §8 (stats)
 */

import type { OptionSpec } from './config.ts';

export const LOG_FORMATS = ['uwsgi', 'json'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'shared-socket',
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    group: 'global',
    help: 'bind ADDR once at startup; listeners refer to the N-th shared socket as =N (0-based)',
  },
  {
    name: 'undeferred-shared-socket',
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    group: 'global',
    help: 'like --shared-socket, without TCP_DEFER_ACCEPT (for server-speaks-first protocols)',
  },
  {
    name: 'listen',
    kind: 'int',
    default: '100',
    min: 1,
    max: 65535,
    valueName: 'N',
    group: 'global',
    help: 'listen backlog of every listening socket',
  },
  {
    name: 'socket',
    aliases: ['uwsgi-socket'],
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    group: 'global',
    help: 'uwsgi socket of this instance, used by --X-use-socket and as the default --http node',
  },
  {
    name: 'stats-http',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'global',
    help: 'serve the stats JSON with an HTTP/1.0 response head (for browsers and curl)',
  },
  {
    name: 'stats-minified',
    aliases: ['stats-min'],
    kind: 'flag',
    valueName: 'BOOL',
    group: 'global',
    help: 'serve the stats JSON without indentation and newlines',
  },
  {
    name: 'socket-timeout',
    kind: 'int',
    default: '4',
    min: 0,
    valueName: 'SECONDS',
    group: 'global',
    help: 'internal socket timeout, also the TCP_DEFER_ACCEPT wait of listening sockets',
  },
  {
    name: 'enable-proxy-protocol',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'global',
    help: 'accept a PROXY protocol v1 line on HTTP listeners (same as --http-enable-proxy-protocol)',
  },
  {
    name: 'cache2',
    kind: 'string',
    repeatable: true,
    valueName: 'name=..,items=..',
    group: 'global',
    help: 'create a cache (keys: name, items, blocksize, keysize, expire settings, udp, nodes, ...)',
  },
  // uwrouter's own
  {
    name: 'log-format',
    kind: 'string',
    choices: LOG_FORMATS,
    default: 'uwsgi',
    valueName: 'FORMAT',
    group: 'uwrouter',
    help: 'uwsgi = the plain lines uWSGI prints; json = one JSON object per line for log shippers',
  },
  {
    name: 'log-level',
    kind: 'string',
    choices: LOG_LEVELS,
    default: 'info',
    valueName: 'LEVEL',
    group: 'uwrouter',
    help: 'least severe level logged',
  },
  {
    name: 'ini',
    kind: 'string',
    repeatable: true,
    valueName: 'FILE[:SECTION]',
    group: 'uwrouter',
    help: 'load options from SECTION (default "uwsgi") of an ini file, at this point of the command line',
  },
  {
    name: 'help',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'uwrouter',
    help: 'print this help and exit (also -h)',
  },
  {
    name: 'version',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'uwrouter',
    help: 'print the version and exit',
  },
];

const NO_EFFECT = 'accepted for compatibility; no effect';

function compatFlag(name: string, why: string, aliases?: string[]): OptionSpec {
  const spec: OptionSpec = { name, kind: 'flag', valueName: 'BOOL', group: 'compat', noop: true, help: why };
  if (aliases) spec.aliases = aliases;
  return spec;
}

function compatValue(name: string, valueName: string, why: string, repeatable = false): OptionSpec {
  const spec: OptionSpec = { name, kind: 'string', valueName, group: 'compat', noop: true, help: why };
  if (repeatable) spec.repeatable = true;
  return spec;
}

/** Common in uWSGI router configs; no meaning for uwrouter. */
export const COMPAT_OPTIONS: readonly OptionSpec[] = [
  compatFlag('master', `${NO_EFFECT} (uwrouter always supervises its router processes)`),
  compatValue('plugin', 'NAME', `${NO_EFFECT} (every router is built in)`, true),
  compatValue('plugins', 'NAMES', `${NO_EFFECT} (every router is built in)`, true),
  compatFlag('die-on-term', `${NO_EFFECT} (SIGTERM always shuts uwrouter down)`),
  compatFlag('disable-logging', `${NO_EFFECT} (routers log no request lines; use --log-level)`),
  compatFlag('vacuum', NO_EFFECT),
  compatFlag('strict', `${NO_EFFECT} (uwrouter always rejects unknown options)`),
  compatFlag('enable-threads', NO_EFFECT),
  compatFlag('thunder-lock', NO_EFFECT),
  compatFlag('no-orphans', NO_EFFECT),
  compatFlag('auto-procname', NO_EFFECT),
  compatFlag('log-date', `${NO_EFFECT} (use --log-format json for timestamps)`),
  compatValue('uid', 'USER', `${NO_EFFECT}; use --fastrouter-uid / --http-uid, or start uwrouter as USER`),
  compatValue('gid', 'GROUP', `${NO_EFFECT}; use --fastrouter-gid / --http-gid, or start uwrouter as GROUP`),
  compatValue('chdir', 'DIR', `${NO_EFFECT} yet (relative paths resolve against the start directory)`),
  compatValue('pidfile', 'FILE', `${NO_EFFECT} yet (no pid file is written)`),
  compatValue('pidfile2', 'FILE', `${NO_EFFECT} yet (no pid file is written)`),
  compatValue('daemonize', 'LOGFILE', `${NO_EFFECT} (uwrouter stays in the foreground; use a supervisor)`),
  compatValue('procname', 'NAME', NO_EFFECT),
  compatValue('procname-prefix', 'PREFIX', NO_EFFECT),
  compatValue('procname-prefix-spaced', 'PREFIX', NO_EFFECT),
  compatValue('procname-append', 'SUFFIX', NO_EFFECT),
  compatValue('procname-master', 'NAME', NO_EFFECT),
  {
    name: 'processes',
    aliases: ['workers'],
    kind: 'int',
    min: 0,
    valueName: 'N',
    group: 'compat',
    noop: true,
    help: `${NO_EFFECT} (application workers; use --fastrouter-processes, --http-processes, ...)`,
  },
];
