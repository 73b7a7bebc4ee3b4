/** Start a managed process and wait until it serves (a port, a unix socket, or a log line). */
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForPort, waitForUnixSocket } from './ports.ts';
import { type ManagedProcess, type SpawnManagedOptions, spawnManaged } from './process-registry.ts';

export interface ServerHandle extends ManagedProcess {
  /** the TCP port it listens on (when it listens on TCP) */
  readonly port?: number;
  readonly host: string;
  /** the unix socket it listens on (when it does) */
  readonly socketPath?: string;
  /** `host:port` or the socket path: what another peer would be given as upstream */
  readonly address: string;
  /** its working directory (a temp dir, removed at exit) */
  readonly dir: string;
}

export type ReadyCheck =
  | { port: number; host?: string }
  | { path: string }
  | { pattern: RegExp }
  | { none: true };

export interface StartServerOptions extends SpawnManagedOptions {
  cwd: string;
  ready: ReadyCheck;
  /** after `ready`, also wait until the output has `count` (default 1) matches of `pattern` */
  readyLog?: { pattern: RegExp; count?: number };
  /** how long to wait for readiness (default 15 s) */
  waitMs?: number;
}

/** Thrown when a server does not come up; `logs` holds what it printed. */
export class ServerStartError extends Error {
  readonly code = 'UWR_HARNESS_START';
  readonly logs: string;
  constructor(message: string, logs: string) {
    super(`${message}\n--- output ---\n${logs.slice(-4000)}`);
    this.name = 'ServerStartError';
    this.logs = logs;
  }
}

function countMatches(text: string, pattern: RegExp): number {
  const flags = pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`;
  return [...text.matchAll(new RegExp(pattern.source, flags))].length;
}

async function waitForLine(p: ManagedProcess, pattern: RegExp, timeoutMs: number, count = 1): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (countMatches(p.logs(), pattern) < count) {
    if (!p.isRunning()) throw new Error('exited before printing the ready line');
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export async function startServerProcess(
  name: string,
  command: string,
  args: readonly string[],
  opts: StartServerOptions,
): Promise<ManagedProcess> {
  const p = spawnManaged(name, command, args, opts);
  const waitMs = opts.waitMs ?? 15000;
  const abort = () => (p.isRunning() ? undefined : 'the process exited');
  try {
    const r = opts.ready;
    if ('port' in r) await waitForPort(r.port, r.host ?? '127.0.0.1', waitMs, abort);
    else if ('path' in r) await waitForUnixSocket(r.path, waitMs, abort);
    else if ('pattern' in r) await waitForLine(p, r.pattern, waitMs);
    else if (!p.isRunning()) throw new Error('the process exited');
    if (opts.readyLog) await waitForLine(p, opts.readyLog.pattern, waitMs, opts.readyLog.count);
  } catch (err) {
    await p.kill();
    const info = await p.exited;
    throw new ServerStartError(
      `${name} did not start (${(err as Error).message}; exit code ${info.code}, signal ${info.signal})\n` +
        `command: ${command} ${args.join(' ')}`,
      p.logs(),
    );
  }
  return p;
}

/** Attach address fields to a started process. */
export function asServer(
  p: ManagedProcess,
  where: { host?: string; port?: number; socketPath?: string; dir: string },
): ServerHandle {
  const host = where.host ?? '127.0.0.1';
  const address =
    where.socketPath ??
    (where.port !== undefined ? `${host.includes(':') ? `[${host}]` : host}:${where.port}` : '');
  return Object.assign(p, { host, port: where.port, socketPath: where.socketPath, address, dir: where.dir });
}

/** Did this start fail because its port was taken between freePort() and bind()? */
export function isAddressInUse(err: unknown): boolean {
  return err instanceof ServerStartError && /Address already in use|EADDRINUSE/.test(err.logs);
}
