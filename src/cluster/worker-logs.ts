/**
 * A worker's log destinations: its process log lines go to the primary's log file when there
 * is one (the descriptor passed at fork: worker-files.ts), else to stderr (which a
 * --daemonize start points at its log); its request log is its own, writing to the file the
 * primary opened, or to stderr. SIGUSR2/SIGHUP (from the primary, or sent to the worker)
 * reopen both by path; one line says what happened.
 */
import type { Config } from '../config/config.ts';
import { createLogger, type Logger, LogOutput, stderrSink } from '../logger.ts';
import { processSettingsFromConfig } from '../main.ts';
import { adoptLogFile, type LogFile } from '../process/log-file.ts';
import { type RequestLog, requestLogFromConfig } from '../request-log.ts';
import type { InheritedFile } from './messages.ts';

export class WorkerLogs {
  readonly log: Logger;
  private readonly file: LogFile | null;
  private readonly requestLogFile: InheritedFile | null;
  requestLog: RequestLog | null = null;

  constructor(config: Config, logFile: InheritedFile | null, requestLogFile: InheritedFile | null) {
    const settings = processSettingsFromConfig(config);
    this.file = logFile ? adoptLogFile(logFile.path, logFile.fd) : null;
    const output = new LogOutput(this.file ?? stderrSink(settings.logFormat));
    this.log = createLogger(settings.logFormat, settings.logLevel, { date: settings.logDate, output });
    this.requestLogFile = requestLogFile;
  }

  /** The request log the configuration asks for (a ConfigError when it cannot be opened). */
  openRequestLog(config: Config): RequestLog | null {
    this.requestLog = requestLogFromConfig(config, this.log, this.requestLogFile, this.file);
    return this.requestLog;
  }

  /** SIGUSR2/SIGHUP: every file this worker writes, opened again by its path. */
  reopen(signal: string): void {
    const done: string[] = [];
    const failed: string[] = [];
    if (this.file) {
      try {
        this.file.reopen();
        done.push(`log file ${this.file.path}`);
      } catch (err) {
        failed.push(
          `log file ${this.file.path}: ${(err as Error).message.replace(/^cannot open "[^"]*": /, '')}`,
        );
      }
    }
    const r = this.requestLog;
    if (r?.reopenable) {
      // a failed reopen is logged by the request log itself (it keeps the old file)
      if (r.reopen()) done.push(`request log ${r.target}`);
    }
    const who = `worker ${process.pid}`;
    if (done.length > 0)
      this.log.info(`[uwrouter] ${signal} received by ${who}: reopened ${done.join(', ')}`);
    for (const f of failed)
      this.log.warn(
        `[uwrouter] ${signal} received by ${who}: could not reopen ${f}; still writing to the file opened before`,
      );
  }

  /** The request log written out and closed (the log file takes lines to the end: flushed at exit). */
  async close(): Promise<void> {
    await this.requestLog?.close();
  }
}
