/**
 * The names of the process's user and group (for the `%U`/`%G` magic variables).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** The user name of the process, or its uid as text when it has no passwd entry. */
export function currentUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '');
  }
}

/** The name of group `gid` from /etc/group, or undefined. */
export function groupNameOf(gid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && f[2] !== '' && Number(f[2]) === gid) return f[0];
    }
  } catch {
    // no /etc/group: only the number can match
  }
  return undefined;
}
