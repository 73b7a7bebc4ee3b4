/**
 * `--pidfile` (written once the listeners are bound, before privileges are dropped) and
 * `--pidfile2` (after), as uWSGI orders them (core/uwsgi.c: pidfile "before privileges drop",
 * pidfile2 "after"). Content: the pid and a newline, as uWSGI writes it.
 *
 * Beyond uWSGI (which overwrites blindly and removes the file only with --vacuum):
 * - a pidfile naming a live process that started before the file was written belongs to
 *   another running instance: start-up stops instead of taking it over; a dead pid, a pid
 *   reused by a younger process, our own pid or garbage is stale and replaced (one line);
 * - the file is written to a temporary name and renamed into place, so a reader never sees
 *   it empty and a symlink planted at the path is replaced, never followed;
 * - it is removed at stop when it still holds our pid (a line says so when it cannot be,
 *   e.g. a root-owned directory after --uid).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { errnoReason } from './errno-reason.ts';
import { procStat } from './proc-stat.ts';

interface PidfileLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface Pidfile {
  /** absolute path */
  readonly path: string;
  readonly pid: number;
  /** Remove it if it still holds `pid` (never throws; logs what it could not do). */
  remove(log: PidfileLog): void;
}

/** USER_HZ: /proc/PID/stat counts start times in 1/100 s on Linux (x86, ARM, …). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Seconds since the epoch when the system booted (/proc/stat btime), or undefined. */
function bootTime(): number | undefined {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Does `pid` run (a zombie does not)? EPERM means it exists under another user. */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(pid);
  return stat === undefined || stat[0] !== 'Z';
}

/** When `pid` started (epoch seconds), or undefined where /proc cannot tell. */
function processStartTime(pid: number): number | undefined {
  const stat = procStat(pid);
  const boot = bootTime();
  // field 22 of stat = index 19 after "pid (comm) "
  const ticks = stat ? Number(stat[19]) : Number.NaN;
  if (boot === undefined || !Number.isFinite(ticks)) return undefined;
  return boot + ticks / CLOCK_TICKS_PER_SECOND;
}

/** What is at a pidfile's path now. */
export type PidfileState =
  | { kind: 'absent' }
  | { kind: 'stale'; why: string }
  | { kind: 'live'; pid: number };

/** Is the file at `path` absent, stale (why), or another running process's? */
export function inspectPidfile(path: string, selfPid = process.pid): PidfileState {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return { kind: 'absent' };
  }
  // a symlink or anything else is replaced by the rename, never followed
  if (!st.isFile()) return { kind: 'stale', why: 'it is not a regular file' };
  let text: string;
  try {
    text = readFileSync(path, 'latin1').slice(0, 64);
  } catch (err) {
    return { kind: 'stale', why: `it cannot be read (${(err as NodeJS.ErrnoException).code})` };
  }
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  if (!m) return { kind: 'stale', why: 'it does not hold a pid' };
  const pid = Number(m[1]);
  if (pid === selfPid) return { kind: 'stale', why: `pid ${pid} is this process` };
  if (pid <= 0 || !processRuns(pid)) return { kind: 'stale', why: `pid ${pid} is not running` };
  const started = processStartTime(pid);
  // a process younger than the file got a recycled pid (1 s of slack for the tick rounding)
  if (started !== undefined && started > st.mtimeMs / 1000 + 1) {
    return { kind: 'stale', why: `pid ${pid} now belongs to a process started after the file was written` };
  }
  return { kind: 'live', pid };
}

/**
 * Writes `pid` (default: this process) to `path`; `option` names the option in messages.
 * Throws ConfigError when another live process owns the file or it cannot be written.
 */
export function writePidfile(
  path: string,
  log: PidfileLog,
  option = 'pidfile',
  pid: number = process.pid,
): Pidfile {
  const abs = resolve(path);
  const before = inspectPidfile(abs, pid);
  if (before.kind === 'live') {
    throw new ConfigError(
      `option "--${option}": "${abs}" holds pid ${before.pid}, a process that is running and started before the file was written (another uwrouter?); stop it, or remove the file if it is not uwrouter`,
    );
  }
  const tmp = join(dirname(abs), `.${basename(abs)}.${pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd = -1;
  try {
    fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    writeSync(fd, `${pid}\n`);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, abs);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    throw new ConfigError(`option "--${option}": cannot write "${abs}": ${errnoReason(err)}`);
  }
  // uWSGI's line (core/utils.c uwsgi_write_pidfile)
  log.info(`writing pidfile to ${abs}`);
  if (before.kind === 'stale') log.info(`[uwrouter] replaced the stale pidfile ${abs}: ${before.why}`);
  return {
    path: abs,
    pid,
    remove(l: PidfileLog): void {
      let text: string;
      try {
        text = readFileSync(abs, 'latin1').slice(0, 64);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // already gone
        l.warn(`[uwrouter] could not remove pidfile ${abs}: ${errnoReason(err)} (after the privilege drop?)`);
        return;
      }
      if (text.trim() !== String(pid)) {
        l.warn(
          `[uwrouter] ${abs} now holds "${text.trim().slice(0, 20)}", not this process's pid ${pid}: left in place`,
        );
        return;
      }
      try {
        unlinkSync(abs);
        l.info(`[uwrouter] pidfile ${abs} removed`);
      } catch (err) {
        l.warn(
          `[uwrouter] could not remove pidfile ${abs}: ${errnoReason(err)}; it names pid ${pid}, which is gone once this process exits (the next start replaces it)`,
        );
      }
    },
  };
}
