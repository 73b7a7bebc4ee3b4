/** Real uWSGI peers (Debian's uwsgi-core): app nodes and uWSGI's own routers. */
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, tmpDir } from './ports.ts';
import { asServer, isAddressInUse, type ServerHandle, startServerProcess } from './server-process.ts';

/** test/interop/apps */
export const APPS_DIR = resolve(fileURLToPath(new URL('../apps/', import.meta.url)));

export const UWSGI_BIN = process.env.UWSGI_BIN ?? 'uwsgi';

export interface UwsgiNodeOptions {
  /** a file in test/interop/apps (`hello.py`) or a path */
  app: string;
  /** worker processes (default 1) */
  processes?: number;
  /** `uwsgi` (default): `--socket`; `http`: `--http-socket` */
  protocol?: 'uwsgi' | 'http';
  /** listen on a unix socket in the node's temp dir instead of TCP */
  unix?: boolean;
  /** TCP port (default: a free one) */
  port?: number;
  /** sets `--env NODE_NAME=…` (what whoami.py answers) */
  name?: string;
  /** more uWSGI options, e.g. `['--subscribe-to', '127.0.0.1:7000:example.com']` */
  args?: string[];
  env?: Record<string, string>;
  /** readiness timeout (default 15 s) */
  waitMs?: number;
}

/** The environment uWSGI runs with: without this machine's Python overrides. */
function uwsgiEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.PYTHONHOME;
  delete env.PYTHONPATH;
  return env;
}

function appPath(app: string): string {
  return isAbsolute(app) ? app : join(APPS_DIR, app);
}

/**
 * A uWSGI python node: `uwsgi --plugin python3 --socket ADDR --wsgi-file APP --master
 * --processes N --disable-logging --die-on-term …`. `stop()` sends SIGINT (a subscribed
 * node then sends its unsubscribe packets); `kill()` is SIGKILL.
 */
export async function startUwsgiNode(opts: UwsgiNodeOptions): Promise<ServerHandle> {
  const attempts = opts.port === undefined && !opts.unix ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startUwsgiNodeOnce(opts);
    } catch (err) {
      if (attempt >= attempts || !isAddressInUse(err)) throw err;
    }
  }
}

async function startUwsgiNodeOnce(opts: UwsgiNodeOptions): Promise<ServerHandle> {
  const dir = tmpDir(`uwsgi-${opts.name ?? opts.app.replace(/\W/g, '_')}`);
  const socketPath = opts.unix ? join(dir, 'node.sock') : undefined;
  const port = socketPath ? undefined : (opts.port ?? (await freePort()));
  const address = socketPath ?? `127.0.0.1:${port}`;
  const processes = opts.processes ?? 1;
  const args = [
    '--plugin',
    'python3',
    opts.protocol === 'http' ? '--http-socket' : '--socket',
    address,
    '--wsgi-file',
    appPath(opts.app),
    '--master',
    '--processes',
    String(processes),
    '--disable-logging',
    '--die-on-term',
    '--need-app',
    ...(opts.name !== undefined ? ['--env', `NODE_NAME=${opts.name}`] : []),
    ...(opts.args ?? []),
  ];
  const p = await startServerProcess(`uwsgi-node ${opts.name ?? opts.app}`, UWSGI_BIN, args, {
    cwd: dir,
    env: uwsgiEnv(opts.env),
    stopSignal: 'SIGINT',
    ready: socketPath ? { path: socketPath } : { port: port! },
    // the master binds before loading the app and forking: wait for every worker
    readyLog: { pattern: /spawned uWSGI worker \d+/, count: processes },
    waitMs: opts.waitMs,
  });
  return asServer(p, { port, socketPath, dir });
}

export type UwsgiRouterKind = 'fastrouter' | 'http' | 'rawrouter' | 'sslrouter';

/** The router options whose value is a listening address, per plugin. */
const LISTEN_OPTIONS: Record<UwsgiRouterKind, readonly string[]> = {
  fastrouter: ['--fastrouter'],
  http: ['--http', '--https'],
  rawrouter: ['--rawrouter'],
  sslrouter: ['--sslrouter'],
};

/** The first `host:port` the arguments ask the router to listen on, if any. */
export function listenPortFromArgs(
  args: readonly string[],
  options: readonly string[],
): { host: string; port: number } | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    let value: string | undefined;
    for (const o of options) {
      if (a === o) value = args[i + 1];
      else if (a.startsWith(`${o}=`)) value = a.slice(o.length + 1);
    }
    if (value === undefined) continue;
    const addr = value.split(',')[0]!;
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
    if (m) return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
  }
  return undefined;
}

export interface UwsgiRouterOptions {
  /** wait for this port instead of the one found in the arguments */
  port?: number;
  env?: Record<string, string>;
  waitMs?: number;
}

/**
 * uWSGI's own router: `uwsgi --plugin KIND --master ARGS…`, e.g.
 * `startUwsgiRouter('fastrouter', ['--fastrouter', '127.0.0.1:P', '--fastrouter-to', node.address])`.
 * Waits for the first listening address in the arguments (or `opts.port`).
 */
export async function startUwsgiRouter(
  kind: UwsgiRouterKind,
  args: readonly string[],
  opts: UwsgiRouterOptions = {},
): Promise<ServerHandle> {
  const dir = tmpDir(`uwsgi-${kind}`);
  const found =
    opts.port !== undefined
      ? { host: '127.0.0.1', port: opts.port }
      : listenPortFromArgs(args, LISTEN_OPTIONS[kind]);
  const p = await startServerProcess(
    `uwsgi-${kind}`,
    UWSGI_BIN,
    ['--plugin', kind, '--master', '--die-on-term', ...args],
    {
      cwd: dir,
      env: uwsgiEnv(opts.env),
      stopSignal: 'SIGINT',
      ready: found ? { port: found.port, host: found.host } : { none: true },
      readyLog: { pattern: new RegExp(`spawned uWSGI ${kind} 1 `) },
      waitMs: opts.waitMs,
    },
  );
  return asServer(p, { host: found?.host, port: found?.port, dir });
}
