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
    // Node.js never sets TCP_DEFER_ACCEPT, so uWSGI's undeferred variant is the same socket;
    // as an alias both keep one numbering in the order given (spec: corerouter.md §6)
    aliases: ['undeferred-shared-socket'],
    kind: 'string',
    repeatable: true,
    valueName: 'ADDR',
    group: 'global',
    help:
      'bind ADDR once at startup; listeners refer to the N-th shared socket as =N (0-based). ' +
      "uWSGI's undeferred variant is the same here: Node.js never sets TCP_DEFER_ACCEPT",
  },
  {
    name: 'reload-mercy',
    kind: 'int',
    default: '60',
    min: 0,
    max: 86400,
    valueName: 'SECONDS',
    group: 'global',
    help:
      'how long in-flight requests and tunnels may run after a reload (SIGHUP) or a graceful stop ' +
      '(SIGTERM, SIGINT, SIGQUIT) before their connections are closed',
  },
  {
    name: 'touch-reload',
    kind: 'string',
    repeatable: true,
    valueName: 'FILE',
    group: 'global',
    help: 'reload (as SIGHUP does) when FILE is modified, touched, created or removed (checked every second)',
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
    help:
      'uwsgi address of an app server of this instance, used only as the node of --X-use-socket ' +
      '(uwrouter runs no app workers and binds nothing here)',
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
    help: 'how long a --rawrouter-trusted-proxy peer has to send its PROXY protocol header (uWSGI: internal socket timeout and TCP_DEFER_ACCEPT wait, which Node.js cannot set)',
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
    status: { refuse: 'the uWSGI cache is not implemented yet in uwrouter' },
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
    name: 'log-date',
    aliases: ['logdate'],
    kind: 'string',
    implicit: '',
    valueName: 'STRFTIME',
    group: 'uwrouter',
    help:
      'prefix plain log lines with the local time as uWSGI does ("Mon Nov 30 21:02:19 2026 - "), ' +
      'or with a strftime format (--log-date="%Y-%m-%d %H:%M:%S"); json lines always carry "time"',
  },
  {
    name: 'logto',
    kind: 'string',
    valueName: 'FILE',
    group: 'uwrouter',
    help: 'write logs to FILE (or a UDP address) instead of stderr',
    status: {
      refuse: 'not implemented yet: logs go to stderr; redirect it (systemd journal, a supervisor, 2>>FILE)',
    },
  },
  {
    name: 'logto2',
    kind: 'string',
    valueName: 'FILE',
    group: 'uwrouter',
    help: 'like --logto, opened after privileges are dropped',
    status: {
      refuse: 'not implemented yet: logs go to stderr; redirect it (systemd journal, a supervisor, 2>>FILE)',
    },
  },
  {
    name: 'set',
    aliases: ['set-placeholder', 'set-ph'],
    kind: 'string',
    repeatable: true,
    valueName: 'NAME=VALUE',
    group: 'uwrouter',
    help:
      "define the placeholder NAME for %(NAME) in option values (uWSGI's --set also sets the option " +
      'NAME when one exists)',
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
  {
    name: 'chdir',
    kind: 'string',
    valueName: 'DIR',
    group: 'global',
    help:
      'change to DIR after reading the configuration, before anything is bound (relative socket and ' +
      'key paths then resolve against DIR; ini files already read resolved theirs)',
  },
];

/** Identity and process-management options: refused until they work (a silent no-op here
 * would leave a root process running as root, or a supervisor waiting for a pid file). */
const SUPERVISOR = 'not implemented yet: start uwrouter as that user / under a supervisor';

function refused(name: string, valueName: string, help: string, why = SUPERVISOR): OptionSpec {
  return { name, kind: 'string', valueName, group: 'global', help, status: { refuse: why } };
}

/** `help` says what the option does in uWSGI, `why` why it is harmless to ignore here. */
function compatFlag(name: string, help: string, why: string): OptionSpec {
  return { name, kind: 'flag', valueName: 'BOOL', group: 'compat', help, status: { noop: why } };
}

function compatValue(
  name: string,
  valueName: string,
  help: string,
  why: string,
  repeatable = false,
): OptionSpec {
  const spec: OptionSpec = { name, kind: 'string', valueName, group: 'compat', help, status: { noop: why } };
  if (repeatable) spec.repeatable = true;
  return spec;
}

const NO_PROCNAME = 'the process keeps the name node gives it';

/** Common in uWSGI router configs; harmless without effect for uwrouter. */
export const COMPAT_OPTIONS: readonly OptionSpec[] = [
  compatFlag(
    'master',
    'run the uWSGI master process',
    'uwrouter always runs a primary process that binds the sockets and supervises the router workers',
  ),
  compatValue('plugin', 'NAME', 'load a uWSGI plugin', 'every router is built in', true),
  compatValue('plugins', 'NAMES', 'load uWSGI plugins', 'every router is built in', true),
  compatFlag('die-on-term', 'exit on SIGTERM instead of reloading', 'SIGTERM always shuts uwrouter down'),
  compatFlag('disable-logging', 'do not log requests', 'routers log no request lines; use --log-level'),
  compatFlag(
    'vacuum',
    'remove UNIX socket files at exit',
    'uwrouter removes its UNIX socket files when it stops and replaces a stale one at start',
  ),
  compatFlag(
    'strict',
    'refuse unknown options (no placeholders)',
    'uwrouter always refuses unknown options; an unknown ini key is accepted only as a %(placeholder)',
  ),
  compatFlag('enable-threads', 'enable threads in application workers', 'no application code runs here'),
  compatFlag(
    'thunder-lock',
    'serialize accept() among workers',
    "router workers accept on the shared sockets without a lock (Linux wakes them in turn; the stats' uwrouter.processes show the balance)",
  ),
  compatFlag(
    'no-orphans',
    'exit when the master dies',
    'router workers always stop when the primary process goes away (after their requests, up to reload-mercy)',
  ),
  compatFlag('auto-procname', 'name processes after their role', NO_PROCNAME),
  refused('uid', 'USER', 'run as this user (name or number) after binding'),
  refused('gid', 'GROUP', 'run as this group (name or number) after binding'),
  refused('chroot', 'DIR', 'chroot() to DIR after binding'),
  refused('pidfile', 'FILE', 'write the process id to FILE'),
  refused('pidfile2', 'FILE', 'write the process id to FILE after privileges are dropped'),
  refused('daemonize', 'LOGFILE', 'detach from the terminal and log to LOGFILE'),
  refused('daemonize2', 'LOGFILE', 'like --daemonize, after the apps are loaded'),
  compatValue('procname', 'NAME', 'set the process names', NO_PROCNAME),
  compatValue('procname-prefix', 'PREFIX', 'prefix the process names', NO_PROCNAME),
  compatValue(
    'procname-prefix-spaced',
    'PREFIX',
    'prefix the process names with PREFIX and a space',
    NO_PROCNAME,
  ),
  compatValue('procname-append', 'SUFFIX', 'append to the process names', NO_PROCNAME),
  compatValue('procname-master', 'NAME', 'set the master process name', NO_PROCNAME),
  {
    name: 'processes',
    aliases: ['workers'],
    kind: 'int',
    min: 0,
    valueName: 'N',
    group: 'compat',
    help: 'number of application worker processes',
    status: { noop: 'uwrouter runs no application workers; router processes are --fastrouter-processes, …' },
  },
];
