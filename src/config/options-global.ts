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
    name: 'reuse-port',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'global',
    help:
      "bind the routers' TCP listening sockets with SO_REUSEPORT, so another process (a local app " +
      'started with --reuse-port) can listen on the same port; the kernel spreads connections ' +
      'between them. With --X-cheap the router closes the socket while no node is subscribed (the ' +
      'other process gets every connection) and binds it again on the first subscription; ' +
      'connections queued on it as it closes are reset by Linux unless net.ipv4.tcp_migrate_req=1',
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
    name: 'stats',
    aliases: ['stats-server'],
    kind: 'string',
    valueName: 'ADDR',
    group: 'global',
    help: "serve the instance stats JSON (uWSGI's master stats: version, pid, uid, gid, cwd, caches) on this TCP ip:port or UNIX path",
  },
  {
    name: 'socket-timeout',
    kind: 'int',
    default: '4',
    min: 0,
    valueName: 'SECONDS',
    group: 'global',
    help: 'how long a trusted peer (--rawrouter-, --sslrouter-, --fastrouter-, --http-trusted-proxy) has to send its PROXY protocol header (uWSGI: internal socket timeout and TCP_DEFER_ACCEPT wait, which Node.js cannot set)',
  },
  {
    name: 'enable-proxy-protocol',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'global',
    help: 'same as --http-enable-proxy-protocol',
  },
  // uwrouter's own
  {
    name: 'log-format',
    kind: 'string',
    choices: LOG_FORMATS,
    default: 'uwsgi',
    valueName: 'FORMAT',
    group: 'uwrouter',
    help:
      'uwsgi = the plain lines uWSGI prints; json = one JSON object per line for log shippers (also the ' +
      "request log's format). uWSGI's --log-format request-line template (%(var)) is not supported",
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
    name: 'log-requests',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'uwrouter',
    help:
      'write one line per finished HTTP request or fastrouter session (client, method, URI, status, ' +
      "bytes, durations, key, node, error code) to the process log (stderr, or the --logto file), shaped like uWSGI's request line or JSON " +
      '(--log-format); off by default',
  },
  {
    name: 'req-logger',
    aliases: ['logger-req'],
    kind: 'string',
    repeatable: true,
    valueName: 'file:PATH',
    group: 'uwrouter',
    help:
      'write the request lines to PATH instead of the process log (turns --log-requests on): appended, created ' +
      "mode 0640, reopened on SIGHUP and SIGUSR2 (logrotate). uWSGI's file:logfile=PATH form is accepted; " +
      'other request logger plugins, and more than one request logger, are refused',
  },
  {
    name: 'logformat',
    kind: 'string',
    valueName: 'TEMPLATE',
    group: 'uwrouter',
    help: "uWSGI's request-line template (%(method) %(uri) …)",
    status: {
      refuse:
        "uWSGI's request-line templates are not supported: the request log (--log-requests) has fixed " +
        'fields, plain (uWSGI-shaped) or JSON with --log-format json',
    },
  },
  {
    name: 'logto',
    kind: 'string',
    valueName: 'FILE',
    group: 'uwrouter',
    help:
      'append the log to FILE (created 0640) instead of stderr; SIGUSR2 or SIGHUP reopens it (logrotate). ' +
      "uWSGI's UDP form (HOST:PORT) is refused",
  },
  {
    name: 'logto2',
    kind: 'string',
    valueName: 'FILE',
    group: 'uwrouter',
    help: 'like --logto, opened after privileges are dropped (stderr or --logto until then)',
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
    name: 'disable-logging',
    kind: 'flag',
    valueName: 'BOOL',
    group: 'global',
    help: 'no request log (uWSGI: disable request logging): overrides --log-requests and --req-logger',
  },
  {
    name: 'uid',
    kind: 'string',
    valueName: 'USER',
    group: 'global',
    help:
      'once every listener is bound, run as USER (name or number) with its groups and, unless --gid, its ' +
      'primary group; root (0) is refused',
  },
  {
    name: 'gid',
    kind: 'string',
    valueName: 'GROUP',
    group: 'global',
    help: 'once every listener is bound, run as GROUP (name or number); the root group (0) is refused',
  },
  {
    name: 'pidfile',
    kind: 'string',
    valueName: 'FILE',
    group: 'global',
    help:
      'write the process id to FILE once the listeners are bound, before privileges are dropped; removed at ' +
      'stop; a FILE naming another running process stops start-up',
  },
  {
    name: 'pidfile2',
    kind: 'string',
    valueName: 'FILE',
    group: 'global',
    help: 'like --pidfile, written after privileges are dropped',
  },
  {
    name: 'daemonize',
    kind: 'string',
    valueName: 'LOGFILE',
    group: 'global',
    help:
      'run in the background (own session, stdin /dev/null) logging to LOGFILE as --logto does; the command ' +
      'returns once uwrouter serves, or prints why it could not start',
  },
  {
    name: 'daemonize2',
    kind: 'string',
    valueName: 'LOGFILE',
    group: 'global',
    help:
      "the same as --daemonize (uWSGI's variant detaches after loading the apps; uwrouter has none, and its " +
      'command always waits until the background process serves)',
  },
  {
    name: 'chmod-socket',
    aliases: ['chmod'],
    kind: 'string',
    implicit: '',
    valueName: 'MODE',
    group: 'global',
    help: 'permissions of the UNIX sockets uwrouter binds, three octal digits (no value = 666)',
  },
  {
    name: 'chown-socket',
    kind: 'string',
    valueName: 'USER[:GROUP]',
    group: 'global',
    help: 'owner (and group) of the UNIX sockets uwrouter binds, names or numbers',
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
  {
    name: 'chroot',
    kind: 'string',
    valueName: 'DIR',
    group: 'global',
    help: 'chroot() to DIR after binding',
    status: {
      refuse:
        'Node.js has no chroot(); confine uwrouter with a container or systemd (RootDirectory=, ProtectSystem=) instead',
    },
  },
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
