/** uwrouter itself, as the CLI a user runs: `node src/cli.ts ARGS…` (or dist/cli.js). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from './ports.ts';
import { liveProcessesWith } from './process-registry.ts';
import { asServer, type ReadyCheck, type ServerHandle, startServerProcess } from './server-process.ts';
import { listenPortFromArgs } from './uwsgi.ts';

/** The repository root (three levels above this file). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** Options whose value is a TCP listening address (what startUwrouter waits for by default). */
const LISTEN_OPTIONS = ['--fastrouter', '--http', '--https', '--rawrouter', '--sslrouter', '--http-socket'];

export interface UwrouterOptions {
  /** wait until this port accepts (default: the first listening address in args) */
  port?: number;
  host?: string;
  /** or wait for a line of output matching this */
  readyPattern?: RegExp;
  /** `src` (default, Node strips the types) or `dist` (the compiled build) or a path to a script */
  entry?: 'src' | 'dist' | string;
  env?: Record<string, string>;
  /** extra options for node itself, e.g. `['--cpu-prof']` */
  nodeArgs?: string[];
  waitMs?: number;
}

/** The script startUwrouter runs for `entry`. */
export function uwrouterEntry(entry: UwrouterOptions['entry'] = 'src'): string {
  if (entry === 'src') return join(REPO_ROOT, 'src', 'cli.ts');
  if (entry === 'dist') return join(REPO_ROOT, 'dist', 'cli.js');
  return resolve(REPO_ROOT, entry);
}

/**
 * Spawn `process.execPath ENTRY ...args` from the repository root, capture its output, and
 * wait until it serves. `stop()` sends SIGTERM, then SIGKILL after 5 s.
 */
export async function startUwrouter(
  args: readonly string[],
  opts: UwrouterOptions = {},
): Promise<ServerHandle> {
  const script = uwrouterEntry(opts.entry);
  if (!existsSync(script)) throw new Error(`startUwrouter: ${script} does not exist (yet)`);
  const found =
    opts.port !== undefined
      ? { host: opts.host ?? '127.0.0.1', port: opts.port }
      : opts.readyPattern
        ? undefined
        : listenPortFromArgs(args, LISTEN_OPTIONS);
  const ready: ReadyCheck = found
    ? { port: found.port, host: found.host }
    : opts.readyPattern
      ? { pattern: opts.readyPattern }
      : { none: true };
  const dir = tmpDir('uwrouter');
  const p = await startServerProcess(
    'uwrouter',
    process.execPath,
    [...(opts.nodeArgs ?? []), '--disable-warning=ExperimentalWarning', script, ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stopSignal: 'SIGTERM',
      ready,
      waitMs: opts.waitMs,
    },
  );
  return asServer(p, { host: found?.host, port: found?.port, dir });
}

/** Pids of the live child processes of `pid` (a uwrouter primary's router workers), from /proc. */
export function childPids(pid: number): number[] {
  return liveProcessesWith(1, pid);
}

/**
 * Runs `fn` while every process of `all` but `worker` is stopped (SIGSTOP): connections to a
 * socket the workers share can then only be accepted by `worker`, so what `fn` sees is that
 * worker's doing. The others are continued afterwards, whatever `fn` did.
 */
export async function throughWorker<T>(
  worker: number,
  all: readonly number[],
  fn: () => Promise<T>,
): Promise<T> {
  const others = all.filter((p) => p !== worker);
  for (const p of others) process.kill(p, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    for (const p of others) process.kill(p, 'SIGCONT');
  }
}
