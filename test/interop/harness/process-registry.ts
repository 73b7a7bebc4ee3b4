/**
 * Every child process a test (or bench) starts goes through `spawnManaged`, which records
 * it here so nothing outlives the test file: an `after()` hook on the file's root test stops
 * them gracefully, and a process `exit`/signal handler SIGKILLs whatever is left.
 *
 * Children run in their own process group (`detached`), so a kill reaches a uWSGI master's
 * workers and gateways too (uWSGI workers outlive a SIGKILLed master otherwise).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { procStat } from '../../../src/process/proc-stat.ts';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  /** short label used in error messages, e.g. `uwsgi-node hello.py` */
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** resolves when the process has exited (never rejects) */
  readonly exited: Promise<ExitInfo>;
  /** captured stdout+stderr (interleaved, the last `logLimitBytes`) */
  logs(): string;
  isRunning(): boolean;
  /** send `signal` (default: the process's stop signal), SIGKILL the group after `graceMs` */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitInfo>;
  /** SIGKILL the whole process group */
  kill(): Promise<ExitInfo>;
}

export interface SpawnManagedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** the signal `stop()` sends by default (SIGTERM unless told) */
  stopSignal?: NodeJS.Signals;
  /** how many bytes of output to keep (default 1 MiB) */
  logLimitBytes?: number;
  /** copy the output to this process's stderr as it comes (debugging); also UWR_HARNESS_ECHO=1 */
  echo?: boolean;
}

const STOP_GRACE_MS = 5000;
const live = new Set<ManagedProcess>();

/** A bounded in-memory log: keeps the newest `limit` bytes. */
class LogBuffer {
  private readonly limit: number;
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      const first = this.chunks.shift()!;
      this.size -= first.length;
      this.dropped += first.length;
    }
  }

  text(): string {
    const head = this.dropped > 0 ? `[… ${this.dropped} bytes dropped …]\n` : '';
    return head + Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Signal the process group led by `pid` (every child here leads its own group). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is empty already
  }
}

/** SIGKILL what is left of group `pgid` and wait (≤ 2 s) until none of it runs. */
async function killGroupAndWait(pgid: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (processGroupMembers(pgid).length > 0 && Date.now() < deadline) {
    signalGroup(pgid, 'SIGKILL');
    await sleep(10);
  }
}

export function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  opts: SpawnManagedOptions = {},
): ManagedProcess {
  const proc = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = new LogBuffer(opts.logLimitBytes ?? 1024 * 1024);
  const echo = opts.echo ?? process.env.UWR_HARNESS_ECHO === '1';
  const onData = (chunk: Buffer) => {
    log.push(chunk);
    if (echo) process.stderr.write(`[${name}] ${chunk.toString('utf8')}`);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);

  let running = true;
  const exited = new Promise<ExitInfo>((resolve) => {
    proc.once('error', (err) => {
      // spawn failure (ENOENT…): there will be no 'exit' event
      if (proc.pid === undefined) {
        running = false;
        log.push(Buffer.from(`spawn ${command} failed: ${err.message}\n`));
        resolve({ code: null, signal: null });
      }
    });
    proc.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  const pid = proc.pid ?? -1;
  const stopSignal = opts.stopSignal ?? 'SIGTERM';

  const handle: ManagedProcess = {
    name,
    proc,
    pid,
    exited,
    logs: () => log.text(),
    isRunning: () => running,
    async stop(signal = stopSignal, graceMs = STOP_GRACE_MS) {
      if (running && pid > 0) {
        try {
          process.kill(pid, signal);
        } catch {
          // raced with its exit
        }
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), graceMs);
        });
        const first = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (first === 'timeout') signalGroup(pid, 'SIGKILL');
      }
      const info = await exited;
      // sweep anything left in its group (workers of a master that died)
      if (pid > 0) await killGroupAndWait(pid);
      live.delete(handle);
      return info;
    },
    async kill() {
      if (pid > 0) signalGroup(pid, 'SIGKILL');
      const info = await exited;
      if (pid > 0) await killGroupAndWait(pid);
      live.delete(handle);
      return info;
    },
  };
  // a process that dies on its own stays registered until stop()/kill() swept its group
  if (pid > 0) live.add(handle);
  return handle;
}

/** The processes started by this process that have not been stopped yet. */
export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

/** Stop every registered process (gracefully, then SIGKILL), e.g. in an `after()` hook. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

function killAllSync(): void {
  for (const p of live) if (p.pid > 0) signalGroup(p.pid, 'SIGKILL');
  live.clear();
}

/** Is `pid` gone (no such process, or a zombie waiting to be reaped)? */
export function isProcessGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const state = procStat(pid)?.[0];
  return state === undefined || state === 'Z';
}

/**
 * Pids of the live (non-zombie) processes whose /proc/PID/stat field `field` (procStat's
 * numbering: 1 = ppid, 2 = pgrp) is `value`.
 */
export function liveProcessesWith(field: number, value: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const fields = procStat(Number(name));
    if (fields && fields[0] !== 'Z' && Number(fields[field]) === value) out.push(Number(name));
  }
  return out;
}

/** Pids of the live (non-zombie) members of process group `pgid`. */
export function processGroupMembers(pgid: number): number[] {
  return liveProcessesWith(2, pgid);
}

function underTestRunner(): boolean {
  return (
    process.env.NODE_TEST_CONTEXT !== undefined ||
    process.execArgv.some((a) => a === '--test' || a.startsWith('--test=')) ||
    (process.argv[1] ?? '').endsWith('.test.ts')
  );
}

process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAllSync();
    process.kill(process.pid, sig);
  });
}
// Evaluated when a test file imports the harness, i.e. at the file's top level: the hook
// lands on the file's root test and runs after all its tests, failed or not.
if (underTestRunner()) after(stopAllProcesses);
