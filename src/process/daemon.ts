/**
 * `--daemonize LOGFILE` / `--daemonize2 LOGFILE`: run in the background.
 *
 * uWSGI fork()s, setsid()s, fork()s again, points stdin at /dev/null and stdout/stderr at the
 * log (core/utils.c daemonize()). Node.js cannot fork a running process, so the command
 * starts itself again: the same node binary, node options, script and arguments, detached
 * (libuv calls setsid(): a new session with no controlling terminal), stdin from /dev/null,
 * stdout/stderr appended to LOGFILE (where the background process also logs, as --logto
 * does), plus one pipe on which the background process reports "ready" once it serves
 * (listeners bound, pidfile written, privileges dropped). The starting command waits for
 * that and exits 0, or prints what the background process logged and exits with its code,
 * so a failed start is seen where it was started (uWSGI's --daemonize reports nothing).
 * The umask is kept (uWSGI sets 0, which makes every file it creates world-writable).
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { ConfigError } from '../errors.ts';
import { openLogDescriptor } from './log-file.ts';

/** The environment variable naming the readiness pipe's fd in the background process. */
export const DAEMON_READY_FD_ENV = 'UWROUTER_DAEMON_READY_FD';
/** How long the starting command waits for "ready" before giving up (and stopping the process). */
export const DAEMON_START_TIMEOUT_MS = 60_000;
/** How much of the log a failed start prints */
const FAILURE_LOG_BYTES = 8192;
const READY = 'ready\n';

/** The background process's end of the readiness pipe. */
export interface DaemonReadyChannel {
  /** Tell the starting command that uwrouter serves; closes the pipe (once). */
  report(): void;
}

/**
 * In the background process: the readiness pipe, taken out of the environment so that
 * processes it starts (router workers) do not inherit the marker. null when not started by
 * --daemonize; a marker that names no pipe is a ConfigError (never a second daemonize).
 */
export function takeDaemonReadyChannel(env: Record<string, string | undefined>): DaemonReadyChannel | null {
  const text = env[DAEMON_READY_FD_ENV];
  if (text === undefined) return null;
  delete env[DAEMON_READY_FD_ENV];
  delete process.env[DAEMON_READY_FD_ENV];
  const fd = /^\d{1,4}$/.test(text) ? Number(text) : -1;
  let isPipe = false;
  try {
    // Node's 'pipe' stdio is a socketpair
    const st = fd > 2 ? fstatSync(fd) : undefined;
    isPipe = st !== undefined && (st.isSocket() || st.isFIFO());
  } catch {
    // not open
  }
  if (!isPipe) {
    throw new ConfigError(
      `${DAEMON_READY_FD_ENV}=${text} is set but is not an open pipe; it is uwrouter's own marker for --daemonize: unset it`,
    );
  }
  let open = true;
  return {
    report(): void {
      if (!open) return;
      open = false;
      try {
        writeSync(fd, READY);
      } catch {
        // the starting command is gone (killed); nothing to tell
      }
      closeSync(fd);
    },
  };
}

export interface BackgroundStart {
  logPath: string;
  /** the command's arguments (after the script) */
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** default DAEMON_START_TIMEOUT_MS */
  timeoutMs?: number;
}

/** What the background process appended to the log since `from` (at most FAILURE_LOG_BYTES, the end). */
function logSince(path: string, from: number): string {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - FAILURE_LOG_BYTES);
    const buf = Buffer.alloc(Math.max(0, size - start));
    const n = readSync(fd, buf, 0, buf.length, start);
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * The starting command's side: start the background process and wait until it reports it
 * serves. Resolves with the exit code for the command; `say` prints one message line.
 */
export function startInBackground(opts: BackgroundStart, say: (line: string) => void): Promise<number> {
  const logPath = resolvePath(opts.logPath);
  let fd: number;
  try {
    fd = openLogDescriptor(logPath);
  } catch (err) {
    say(`uwrouter: option "--daemonize": ${(err as Error).message}`);
    return Promise.resolve(2);
  }
  const logStart = fstatSync(fd).size;
  const script = process.argv[1] ?? '';
  const child = spawn(process.execPath, [...process.execArgv, script, ...opts.argv], {
    detached: true,
    stdio: ['ignore', fd, fd, 'pipe'],
    env: { ...opts.env, [DAEMON_READY_FD_ENV]: '3' },
    cwd: process.cwd(),
  });
  closeSync(fd);
  const readyPipe = child.stdio[3] as NodeJS.ReadableStream | null;
  const timeoutMs = opts.timeoutMs ?? DAEMON_START_TIMEOUT_MS;
  return new Promise<number>((resolve) => {
    let received = '';
    let settled = false;
    const finish = (code: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      (readyPipe as { destroy?: () => void } | null)?.destroy?.();
      child.unref();
      resolve(code);
    };
    const failed = (why: string, code: number): void => {
      if (settled) return;
      const logged = logSince(logPath, logStart).trimEnd();
      say(`uwrouter: ${why}${logged ? `; it logged to ${logPath}:\n${logged}` : ` (nothing in ${logPath})`}`);
      finish(code);
    };
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      failed(
        `the background process (pid ${child.pid}) did not report that it serves within ${timeoutMs / 1000} s; it was sent SIGTERM`,
        1,
      );
    }, timeoutMs);
    child.once('error', (err) => failed(`could not start the background process: ${err.message}`, 1));
    child.once('exit', (code, signal) =>
      failed(
        `the background process exited while starting (${signal ? `signal ${signal}` : `exit code ${code}`})`,
        code && code > 0 ? code : 1,
      ),
    );
    readyPipe?.on('data', (chunk: Buffer) => {
      received = (received + chunk.toString('latin1')).slice(-64);
      if (!received.includes(READY)) return;
      say(`uwrouter: running in the background as pid ${child.pid}, logging to ${logPath}`);
      finish(0);
    });
  });
}
