/**
 * `--chmod-socket[=MODE]` and `--chown-socket USER[:GROUP]` for UNIX listening sockets, so a
 * web server running as another user (nginx as www-data) can connect.
 * uWSGI (core/socket.c bind_to_unix, core/uwsgi.c uwsgi_opt_chmod_socket): MODE is three
 * octal digits, no value (or "1") means 666; the mode is set right after listen(), the
 * owner right after bind; abstract sockets (`@name`) have neither.
 * Here the socket is also created with at most MODE (the umask is narrowed around the
 * synchronous bind, never widened), so it is never more open than asked, not even between
 * bind and chmod.
 */
import { chmodSync, chownSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import { findGroup, findUser, numericId } from './accounts.ts';
import { errnoReason } from './errno-reason.ts';

export interface UnixSocketSettings {
  /** permission bits, e.g. 0o660 */
  mode?: number;
  /** new owner; -1 keeps the uid or gid as it is */
  owner?: { uid: number; gid: number };
}

/** uWSGI's default when chmod-socket has no value: "for lazy and brave users" */
export const DEFAULT_SOCKET_MODE = 0o666;

/** `--chmod-socket` value → mode bits, or an error text. */
export function parseSocketMode(value: string): { ok: true; mode: number } | { ok: false; error: string } {
  if (value === '' || value === '1') return { ok: true, mode: DEFAULT_SOCKET_MODE };
  if (!/^[0-7]{3}$/.test(value)) {
    return {
      ok: false,
      error: `"${value}" is not a mode: give three octal digits such as 660 (no value = 666)`,
    };
  }
  return { ok: true, mode: Number.parseInt(value, 8) };
}

/** `--chown-socket` value `USER[:GROUP]` (names or numbers) → ids, or an error text. */
export function parseSocketOwner(
  value: string,
): { ok: true; owner: { uid: number; gid: number } } | { ok: false; error: string } {
  const colon = value.indexOf(':');
  const userText = colon < 0 ? value : value.slice(0, colon);
  const groupText = colon < 0 ? undefined : value.slice(colon + 1);
  if (userText === '') return { ok: false, error: `"${value}": the user is missing (USER[:GROUP])` };
  const uid = numericId(userText) ?? findUser(userText)?.uid;
  if (uid === undefined) return { ok: false, error: `there is no user named "${userText}"` };
  let gid = -1;
  if (groupText !== undefined) {
    if (groupText === '') return { ok: false, error: `"${value}": the group after ":" is missing` };
    const g = numericId(groupText) ?? findGroup(groupText)?.gid;
    if (g === undefined) return { ok: false, error: `there is no group named "${groupText}"` };
    gid = g;
  }
  return { ok: true, owner: { uid, gid } };
}

/** The socket settings the configuration asks for (undefined: leave sockets as created). */
export function unixSocketSettingsFromConfig(config: Config): UnixSocketSettings | undefined {
  const settings: UnixSocketSettings = {};
  if (config.has('chmod-socket')) {
    const r = parseSocketMode(config.str('chmod-socket') ?? '');
    if (!r.ok) throw new ConfigError(`option "--chmod-socket": ${r.error}`);
    settings.mode = r.mode;
  }
  const owner = config.str('chown-socket');
  if (owner !== undefined) {
    const r = parseSocketOwner(owner);
    if (!r.ok) throw new ConfigError(`option "--chown-socket": ${r.error}`);
    settings.owner = r.owner;
  }
  return settings.mode === undefined && settings.owner === undefined ? undefined : settings;
}

/**
 * Runs `bind` (a synchronous listen() call) with a umask that lets the socket file be
 * created with no more than `mode`; the old umask is restored before returning.
 */
export function withNarrowedUmask<T>(mode: number | undefined, bind: () => T): T {
  if (mode === undefined) return bind();
  let previous: number;
  try {
    // reading the umask means setting one: the strictest, for the moment in between
    previous = process.umask(0o777);
  } catch {
    return bind(); // worker threads cannot change the umask: chmod after bind still applies
  }
  process.umask(previous | (~mode & 0o777));
  try {
    return bind();
  } finally {
    process.umask(previous);
  }
}

/** Sets the owner and mode of a bound socket file; throws an Error saying which step failed. */
export function applyUnixSocketSettings(path: string, settings: UnixSocketSettings): void {
  if (settings.owner) {
    try {
      chownSync(path, settings.owner.uid, settings.owner.gid);
    } catch (err) {
      throw new Error(
        `cannot chown "${path}" to ${settings.owner.uid}:${settings.owner.gid}: ${errnoReason(err)}`,
      );
    }
  }
  if (settings.mode !== undefined) {
    try {
      chmodSync(path, settings.mode);
    } catch (err) {
      throw new Error(`cannot chmod "${path}" to ${settings.mode.toString(8)}: ${errnoReason(err)}`);
    }
  }
}
