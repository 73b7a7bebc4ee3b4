/**
 * /proc/PID/stat read the one safe way: the command name may hold spaces and parentheses, so
 * the fields are split after its last ')'.
 */
import { readFileSync } from 'node:fs';

/**
 * The fields after the command name of /proc/PID/stat (state is [0], ppid [1], pgrp [2],
 * session [3], tty_nr [4], utime [11], stime [12], starttime [19]), or undefined when the
 * process is gone.
 */
export function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
