/**
 * The user and group databases, for `--uid`, `--gid` and `--chown-socket`. Node.js has no
 * getpwnam(): /etc/passwd and /etc/group are read first (no process started), then
 * `getent` answers for accounts that live elsewhere (LDAP, systemd dynamic users). Only
 * called while starting, never per request.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface UserAccount {
  name: string;
  uid: number;
  /** the primary group */
  gid: number;
}

export interface GroupAccount {
  name: string;
  gid: number;
}

/** A decimal id as uWSGI's is_a_number() takes it (digits only, within uid_t). */
export function numericId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xfffffffe ? n : undefined;
}

/** `getent` where Debian and most distributions put it; never looked up through PATH as root. */
const GETENT = ['/usr/bin/getent', '/bin/getent'].find((p) => existsSync(p));

function readDatabase(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** `getent DB KEY` lines, or [] when not found (exit 2) or getent is missing. */
function getent(db: 'passwd' | 'group', key: string): string[] {
  if (!GETENT) return [];
  try {
    return execFileSync(GETENT, [db, key], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

function parsePasswd(line: string): UserAccount | undefined {
  const f = line.split(':');
  if (f.length < 4) return undefined;
  const uid = numericId(f[2] ?? '');
  const gid = numericId(f[3] ?? '');
  if (!f[0] || uid === undefined || gid === undefined) return undefined;
  return { name: f[0], uid, gid };
}

function parseGroup(line: string): GroupAccount | undefined {
  const f = line.split(':');
  if (f.length < 3) return undefined;
  const gid = numericId(f[2] ?? '');
  if (!f[0] || gid === undefined) return undefined;
  return { name: f[0], gid };
}

/** A name a database line could hold (no separators, no control characters), never an option to getent. */
function plausibleName(name: string): boolean {
  return name.length > 0 && name.length <= 256 && !name.startsWith('-') && !/[:\s\x00-\x1f]/.test(name);
}

/** The user named `name`, or with uid `name` when it is a number; undefined when none exists. */
export function findUser(name: string): UserAccount | undefined {
  const id = numericId(name);
  if (id === undefined && !plausibleName(name)) return undefined;
  const matches = (u: UserAccount | undefined) =>
    u !== undefined && (id !== undefined ? u.uid === id : u.name === name);
  for (const line of readDatabase('/etc/passwd')) {
    const u = parsePasswd(line);
    if (matches(u)) return u;
  }
  for (const line of getent('passwd', name)) {
    const u = parsePasswd(line);
    if (matches(u)) return u;
  }
  return undefined;
}

/** The group named `name`, or with gid `name` when it is a number; undefined when none exists. */
export function findGroup(name: string): GroupAccount | undefined {
  const id = numericId(name);
  if (id === undefined && !plausibleName(name)) return undefined;
  const matches = (g: GroupAccount | undefined) =>
    g !== undefined && (id !== undefined ? g.gid === id : g.name === name);
  for (const line of readDatabase('/etc/group')) {
    const g = parseGroup(line);
    if (matches(g)) return g;
  }
  for (const line of getent('group', name)) {
    const g = parseGroup(line);
    if (matches(g)) return g;
  }
  return undefined;
}
