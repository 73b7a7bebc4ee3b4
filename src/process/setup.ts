/**
 * The process-level steps around binding, in uWSGI's order (core/uwsgi.c, core/utils.c):
 *   start:            --logto / --daemonize log file takes over from stderr
 *   listeners bound:  --pidfile → privilege drop (--uid/--gid) → --pidfile2 → --logto2
 *                     → tell the starting command (--daemonize) that uwrouter serves
 *   SIGUSR2, SIGHUP:  log files reopened (logrotate)
 *   stop:             pidfiles removed
 * main.ts (or the cluster primary) calls these four methods; each step lives in its own file.
 */
import { resolve } from 'node:path';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { LogOutput, LogSink } from '../logger.ts';
import type { DaemonReadyChannel } from './daemon.ts';
import { errnoReason } from './errno-reason.ts';
import { type LogFile, openLogFile } from './log-file.ts';
import { type Pidfile, writePidfile } from './pidfile.ts';
import {
  dropPrivileges,
  type PrivilegeRequest,
  privilegeRequestFromConfig,
  resolvePrivilegeTarget,
} from './privileges.ts';

export interface ProcessFileSettings {
  pidfile?: string;
  pidfile2?: string;
  /** the log file from the start: --daemonize(2) or --logto */
  logto?: string;
  /** the log file once privileges are dropped */
  logto2?: string;
  /** --daemonize / --daemonize2: run in the background, logging to this file */
  daemonize?: string;
  privileges: PrivilegeRequest;
}

interface SetupLog {
  info(msg: string): void;
  warn(msg: string): void;
}

/** uWSGI's logto() sends to UDP when the value has a ':' (core/logging.c); a path never starts so. */
function logFileOption(config: Config, option: string): string | undefined {
  const v = config.str(option);
  if (v === undefined) return undefined;
  if (v === '') throw new ConfigError(`option "--${option}": give a file`);
  if (v.includes(':') && !v.startsWith('/') && !v.startsWith('.')) {
    throw new ConfigError(
      `option "--${option}": "${v}" is uWSGI's UDP log form (HOST:PORT), which uwrouter does not implement; give a file (./${v} if that is its name)`,
    );
  }
  return v;
}

/** Reads and checks the options (names resolved, conflicts refused) before anything is bound. */
export function processFileSettingsFromConfig(config: Config): ProcessFileSettings {
  const settings: ProcessFileSettings = { privileges: privilegeRequestFromConfig(config) };
  // user and group names are checked now: a typo must not wait until after binding
  resolvePrivilegeTarget(settings.privileges);
  const d1 = logFileOption(config, 'daemonize');
  const d2 = logFileOption(config, 'daemonize2');
  if (d1 !== undefined && d2 !== undefined && d1 !== d2) {
    throw new ConfigError(
      `options "--daemonize ${d1}" and "--daemonize2 ${d2}" name two log files; give one`,
    );
  }
  const daemonize = d1 ?? d2;
  const logto = logFileOption(config, 'logto');
  if (daemonize !== undefined && logto !== undefined && logto !== daemonize) {
    throw new ConfigError(
      `options "--daemonize ${daemonize}" and "--logto ${logto}" name two log files (uWSGI silently keeps the first); give one`,
    );
  }
  if (daemonize !== undefined) settings.daemonize = daemonize;
  const start = daemonize ?? logto;
  if (start !== undefined) settings.logto = start;
  const logto2 = logFileOption(config, 'logto2');
  if (logto2 !== undefined) settings.logto2 = logto2;
  const pidfile = config.str('pidfile');
  const pidfile2 = config.str('pidfile2');
  if (pidfile !== undefined && pidfile !== '') settings.pidfile = pidfile;
  if (pidfile2 !== undefined && pidfile2 !== '') settings.pidfile2 = pidfile2;
  if (pidfile && pidfile2 && pidfile === pidfile2) {
    throw new ConfigError(`options "--pidfile" and "--pidfile2" name the same file "${pidfile}"; give one`);
  }
  // relative paths as uWSGI resolves them: these are used before its chdir, pidfile2 after
  for (const k of ['pidfile', 'logto', 'logto2', 'daemonize'] as const) {
    const v = settings[k];
    if (v !== undefined) settings[k] = resolve(v);
  }
  return settings;
}

function isLogFile(sink: LogSink): sink is LogFile {
  // a pino destination on stderr has a reopen() too, but no path
  const f = sink as Partial<LogFile>;
  return typeof f.reopen === 'function' && typeof f.path === 'string';
}

export class ProcessSetup {
  private readonly settings: ProcessFileSettings;
  private readonly output: LogOutput;
  private readonly ready: DaemonReadyChannel | null;
  private readonly pidfiles: Pidfile[] = [];

  constructor(settings: ProcessFileSettings, output: LogOutput, ready: DaemonReadyChannel | null = null) {
    this.settings = settings;
    this.output = output;
    this.ready = ready;
  }

  /** Does SIGUSR2/SIGHUP have a log file to reopen (now or after the drop)? */
  get writesLogFile(): boolean {
    return this.settings.logto !== undefined || this.settings.logto2 !== undefined;
  }

  /** `--logto` / `--daemonize`: the file takes over before the first line. ConfigError when it cannot be opened. */
  openStartLog(): void {
    const path = this.settings.logto;
    if (path === undefined) return;
    const option = this.settings.daemonize !== undefined ? 'daemonize' : 'logto';
    this.output.use(this.open(path, option));
  }

  private open(path: string, option: string): LogFile {
    try {
      return openLogFile(path);
    } catch (err) {
      throw new ConfigError(`option "--${option}": ${(err as Error).message}`);
    }
  }

  /**
   * Once every listener is bound: pidfile, privilege drop, pidfile2, logto2, then "ready" to
   * a --daemonize start (unless `reportReady` is false: a cluster primary reports once its
   * workers serve, with `reportReady()`). A failure is a ConfigError; what was written is
   * removed again.
   */
  afterListenersBound(log: SetupLog, opts: { reportReady?: boolean } = {}): void {
    const s = this.settings;
    try {
      if (s.pidfile !== undefined) this.pidfiles.push(writePidfile(s.pidfile, log, 'pidfile'));
      dropPrivileges(s.privileges, log);
      if (s.pidfile2 !== undefined) this.pidfiles.push(writePidfile(s.pidfile2, log, 'pidfile2'));
      if (s.logto2 !== undefined) {
        const file = this.open(s.logto2, 'logto2');
        log.info(`[uwrouter] logging to ${file.path} from now on (--logto2)`);
        const previous = this.output.use(file);
        if (isLogFile(previous)) void previous.close();
      }
    } catch (err) {
      this.release(log);
      throw err;
    }
    if (opts.reportReady !== false) this.reportReady();
  }

  /** Tells a --daemonize start that uwrouter serves (once; nothing without --daemonize). */
  reportReady(): void {
    this.ready?.report();
  }

  /**
   * The log file lines go to now (after --logto2 took over, that one), if any: a cluster
   * primary passes its descriptor to every worker it forks.
   */
  get logFile(): { fd: number; path: string } | undefined {
    const sink = this.output.current;
    return isLogFile(sink) ? { fd: sink.fd, path: sink.path } : undefined;
  }

  /** SIGUSR2 / SIGHUP: open the log file's path again (logrotate renamed the old one away). */
  reopenLogs(log: SetupLog, signal: string): void {
    const sink = this.output.current;
    if (!isLogFile(sink)) {
      log.info(
        `[uwrouter] ${signal} received: no log file to reopen yet (logs go to stderr until --logto2 opens)`,
      );
      return;
    }
    try {
      sink.reopen();
    } catch (err) {
      const uid = process.getuid?.();
      const hint =
        uid !== undefined && uid !== 0
          ? `; uwrouter runs as uid ${uid} now: let logrotate create the new file for it ("create 0640 USER GROUP") or use copytruncate`
          : '';
      log.warn(
        `[uwrouter] ${signal} received: could not reopen ${sink.path}: ${(err as Error).message.replace(/^cannot open "[^"]*": /, '')}; still writing to the file opened before${hint}`,
      );
      return;
    }
    const lost = sink.dropped > 0 ? ` (${sink.dropped} lines dropped so far while the disk lagged)` : '';
    log.info(`[uwrouter] ${signal} received: reopened log file ${sink.path}${lost}`);
  }

  /** At stop (and after a failed start): remove the pidfiles this process wrote. Never throws. */
  release(log: SetupLog): void {
    for (const p of this.pidfiles.splice(0).reverse()) {
      try {
        p.remove(log);
      } catch (err) {
        log.warn(`[uwrouter] could not remove pidfile ${p.path}: ${errnoReason(err)}`);
      }
    }
  }
}
