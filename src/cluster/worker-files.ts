/**
 * The files a worker writes that the primary opens for it: the log file (`--logto`,
 * `--daemonize`, then `--logto2`: the primary's own, src/process/setup.ts) and the request log
 * file (`--req-logger file:`). The primary opens them as uWSGI's master does, before it drops
 * privileges (a root-owned 0640 file stays writable), and passes the descriptors to every
 * worker at fork; a worker appends to them itself (O_APPEND: lines from several processes
 * never interleave), measured against sending each line to the primary over the channel
 * (bench/worker-log-bench.ts: 2.8× the wall time and all of the primary's CPU, which its
 * subscription server needs). On SIGUSR2/SIGHUP every process reopens the paths (logrotate);
 * the primary's fresh descriptors go to workers forked later.
 */
import { closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { ProcessSetup } from '../process/setup.ts';
import { requestLoggerPath } from '../request-log.ts';
import type { InheritedFile } from './messages.ts';

/** What a worker is forked with now (the descriptors change when the files are reopened). */
export interface InheritedFiles {
  logFile: InheritedFile | null;
  requestLogFile: InheritedFile | null;
}

/** The `--req-logger file:PATH` path the configuration writes, absolute; null for none (or stderr). */
function requestLogPath(config: Config): string | null {
  if (config.flag('disable-logging')) return null;
  const loggers = config.all('req-logger');
  return loggers.length === 1 ? resolve(requestLoggerPath(loggers[0])) : null;
}

export class WorkerFiles {
  private readonly setup: ProcessSetup;
  private requestLog: InheritedFile | null = null;

  constructor(setup: ProcessSetup) {
    this.setup = setup;
  }

  /**
   * Opens the request log file the configuration names (kept when the path is the same; a
   * reload to another path opens that one). ConfigError when it cannot be opened.
   */
  configure(config: Config): void {
    const path = requestLogPath(config);
    if (path === this.requestLog?.path) return;
    const old = this.requestLog;
    this.requestLog = path === null ? null : { path, fd: this.open(path) };
    // workers already running keep their own descriptor (dup'ed at fork)
    if (old) closeSync(old.fd);
  }

  private open(path: string): number {
    try {
      return openSync(path, 'a', 0o640);
    } catch (err) {
      throw new ConfigError(
        `option "--req-logger": cannot open "${path}" for appending: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }

  get hasRequestLogFile(): boolean {
    return this.requestLog !== null;
  }

  inherited(): InheritedFiles {
    return { logFile: this.setup.logFile ?? null, requestLogFile: this.requestLog };
  }

  /** SIGUSR2/SIGHUP: the request log path again (a failure keeps the old file: workers say why). */
  reopen(): void {
    const r = this.requestLog;
    if (!r) return;
    try {
      const fd = openSync(r.path, 'a', 0o640);
      closeSync(r.fd);
      this.requestLog = { path: r.path, fd };
    } catch {
      // as the workers do: they log the failure, the old file stays in use
    }
  }

  close(): void {
    if (this.requestLog) closeSync(this.requestLog.fd);
    this.requestLog = null;
  }
}
