/**
 * Dropping root once every listener is bound: `--uid`, `--gid` and the per-router
 * `--fastrouter-uid`/`--http-uid`/`…-gid`.
 *
 * Order (as uWSGI's uwsgi_as_root, spec: corerouter.md §1): supplementary groups, then
 * setgid, then setuid, so no step needs a privilege an earlier one gave away. Stricter than
 * uWSGI where it is weak:
 * - supplementary groups are always set: the user's groups (initgroups) when the user has
 *   an account, else just the target group; uWSGI's gateways (`X-uid`) keep root's groups;
 * - `--uid` alone takes the user's primary group (uWSGI keeps gid 0);
 * - uid 0 or gid 0 asked explicitly is refused (a "drop" to root keeps every privilege);
 * - the result is checked: real and effective ids (and saved/filesystem ids from
 *   /proc/self/status), and setuid(0) must fail afterwards; anything else stops uwrouter.
 * Per-router ids: uWSGI drops them in the router's own gateway process; uwrouter's routers
 * share their processes, so every uid option given must name the same user (and every gid
 * option the same group), else start-up fails naming them.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import { findGroup, findUser, numericId } from './accounts.ts';

export interface PrivilegeRequest {
  /** user name or number */
  uid?: string;
  /** group name or number */
  gid?: string;
  /** the option that asked for `uid`, for messages (default `uid`) */
  uidOption?: string;
  /** the option that asked for `gid`, for messages (default `gid`) */
  gidOption?: string;
}

export interface PrivilegeTarget {
  /** undefined: the user is kept (only a group was asked for) */
  uid?: number;
  userName?: string;
  gid: number;
  groupName?: string;
  /** set the supplementary groups with initgroups(userName, gid), else setgroups([gid]) */
  initgroupsUser?: string;
}

/** The identity calls a drop makes: the process's own, a fake in tests. */
export interface IdentityCalls {
  getuid(): number;
  geteuid(): number;
  getgid(): number;
  getegid(): number;
  getgroups(): number[];
  setuid(id: number): void;
  setgid(id: number): void;
  setgroups(groups: number[]): void;
  initgroups(user: string, extraGroup: number): void;
  /** the text of /proc/self/status, or undefined where there is none */
  procStatus(): string | undefined;
}

function unsupported(): never {
  throw new ConfigError('this platform has no POSIX user and group ids: --uid/--gid cannot work here');
}

/** process.initgroups exists on POSIX (Node docs) but is missing from @types/node. */
type NodeProcess = typeof process & {
  initgroups?: (user: string | number, extraGroup: string | number) => void;
};

/** The calls of this process (POSIX only; elsewhere every call is a clear error). */
export function processIdentityCalls(): IdentityCalls {
  const p: NodeProcess = process;
  return {
    getuid: () => (p.getuid ?? unsupported)(),
    geteuid: () => (p.geteuid ?? unsupported)(),
    getgid: () => (p.getgid ?? unsupported)(),
    getegid: () => (p.getegid ?? unsupported)(),
    getgroups: () => (p.getgroups ?? unsupported)(),
    setuid: (id) => (p.setuid ?? unsupported)(id),
    setgid: (id) => (p.setgid ?? unsupported)(id),
    setgroups: (groups) => (p.setgroups ?? unsupported)(groups),
    initgroups: (user, extra) => (p.initgroups ?? unsupported)(user, extra),
    procStatus: () => {
      try {
        return readFileSync('/proc/self/status', 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/** The routers with their own uid/gid options (spec: corerouter.md §2: fastrouter and http only). */
const ROUTER_ID_OPTIONS = ['fastrouter', 'http'] as const;

/**
 * One value from `--NAME` and the routers' `--X-NAME`: they must agree (compared as ids, so
 * `nobody` and `65534` agree); undefined when none is given.
 */
function agreeingValue(
  config: Config,
  name: 'uid' | 'gid',
  idOf: (text: string) => number | undefined,
): { value: string; option: string } | undefined {
  const given: Array<{ option: string; value: string }> = [];
  for (const option of [name, ...ROUTER_ID_OPTIONS.map((r) => `${r}-${name}`)]) {
    const v = config.str(option);
    if (v !== undefined && v !== '') given.push({ option, value: v });
  }
  if (given.length === 0) return undefined;
  const first = given[0]!;
  const firstId = idOf(first.value);
  for (const g of given.slice(1)) {
    const same = g.value === first.value || (firstId !== undefined && idOf(g.value) === firstId);
    if (!same) {
      const list = given.map((x) => `--${x.option} ${x.value}`).join(', ');
      throw new ConfigError(
        `${list}: uwrouter's routers share their processes, so they run as one ${name === 'uid' ? 'user' : 'group'}; give the same value (or one --${name})`,
      );
    }
  }
  return first;
}

/** `--uid`/`--gid` and the routers' `--X-uid`/`--X-gid`, merged (they must agree). */
export function privilegeRequestFromConfig(config: Config): PrivilegeRequest {
  const req: PrivilegeRequest = {};
  const uid = agreeingValue(config, 'uid', (t) => numericId(t) ?? findUser(t)?.uid);
  const gid = agreeingValue(config, 'gid', (t) => numericId(t) ?? findGroup(t)?.gid);
  if (uid) {
    req.uid = uid.value;
    req.uidOption = uid.option;
  }
  if (gid) {
    req.gid = gid.value;
    req.gidOption = gid.option;
  }
  return req;
}

/** "nobody (uid 65534)", or "uid 1234" without an account. */
function describeUser(t: PrivilegeTarget): string {
  return t.userName !== undefined ? `${t.userName} (uid ${t.uid})` : `uid ${t.uid}`;
}
function describeGroup(t: PrivilegeTarget): string {
  return t.groupName !== undefined ? `${t.groupName} (gid ${t.gid})` : `gid ${t.gid}`;
}

/**
 * What the request means: names resolved, the refusals checked. Throws ConfigError naming the
 * option. Call it before binding (a typo fails before anything listens); null = nothing asked.
 */
export function resolvePrivilegeTarget(
  req: PrivilegeRequest,
  calls: IdentityCalls = processIdentityCalls(),
): PrivilegeTarget | null {
  if (req.uid === undefined && req.gid === undefined) return null;
  const uidOpt = `--${req.uidOption ?? 'uid'}`;
  const gidOpt = `--${req.gidOption ?? 'gid'}`;
  let uid: number | undefined;
  let userName: string | undefined;
  let userGid: number | undefined;
  if (req.uid !== undefined) {
    const user = findUser(req.uid);
    const n = numericId(req.uid);
    if (!user && n === undefined)
      throw new ConfigError(`option "${uidOpt}": there is no user named "${req.uid}"`);
    uid = user?.uid ?? n;
    userName = user?.name;
    userGid = user?.gid;
    if (uid === 0) {
      throw new ConfigError(
        `option "${uidOpt}": "${req.uid}" is root (uid 0), which keeps every privilege; name an unprivileged user, or leave the option out to run as root`,
      );
    }
  }
  let gid: number;
  let groupName: string | undefined;
  if (req.gid !== undefined) {
    const group = findGroup(req.gid);
    const n = numericId(req.gid);
    if (!group && n === undefined)
      throw new ConfigError(`option "${gidOpt}": there is no group named "${req.gid}"`);
    gid = (group?.gid ?? n)!;
    groupName = group?.name;
    if (gid === 0) {
      throw new ConfigError(
        `option "${gidOpt}": "${req.gid}" is the root group (gid 0), which keeps root's group access; name an unprivileged group`,
      );
    }
  } else if (userGid !== undefined) {
    gid = userGid;
    groupName = findGroup(String(gid))?.name;
    if (gid === 0) {
      throw new ConfigError(
        `option "${uidOpt}": the primary group of "${req.uid}" is root (gid 0); give --gid with an unprivileged group`,
      );
    }
  } else {
    throw new ConfigError(
      `option "${uidOpt}": uid ${uid} has no account, so it has no primary group to run as; give --gid too`,
    );
  }
  const target: PrivilegeTarget = { gid };
  if (uid !== undefined) target.uid = uid;
  if (userName !== undefined) {
    target.userName = userName;
    target.initgroupsUser = userName;
  }
  if (groupName !== undefined) target.groupName = groupName;

  const current = calls.getuid();
  if (current !== 0) {
    // not root: it can only already be what was asked
    if (uid !== undefined && uid !== current) {
      throw new ConfigError(
        `option "${uidOpt}": uwrouter runs as uid ${current}, not as root, so it cannot become ${describeUser(target)}; start it as root (it drops privileges once bound) or as that user`,
      );
    }
    // a group only when one was asked: --uid alone must not fail over the primary group
    if (req.gid !== undefined && gid !== calls.getgid()) {
      throw new ConfigError(
        `option "${gidOpt}": uwrouter runs as gid ${calls.getgid()}, not as root, so it cannot switch to ${describeGroup(target)}`,
      );
    }
  }
  return target;
}

/** The four ids (real, effective, saved, filesystem) of a /proc/self/status line, or null. */
function statusIds(status: string, field: 'Uid' | 'Gid'): number[] | null {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)`, 'm').exec(status);
  return m ? m.slice(1, 5).map(Number) : null;
}

/** After the calls: every id must be the target's, and root must be out of reach. */
function verifyDropped(t: PrivilegeTarget, calls: IdentityCalls): void {
  const fail = (what: string): never => {
    throw new ConfigError(`privilege drop failed: ${what}; refusing to continue`);
  };
  if (t.uid !== undefined && (calls.getuid() !== t.uid || calls.geteuid() !== t.uid)) {
    fail(`still uid ${calls.getuid()} (effective ${calls.geteuid()}) after setuid(${t.uid})`);
  }
  if (calls.getgid() !== t.gid || calls.getegid() !== t.gid) {
    fail(`still gid ${calls.getgid()} (effective ${calls.getegid()}) after setgid(${t.gid})`);
  }
  const status = calls.procStatus();
  if (status !== undefined) {
    const uids = statusIds(status, 'Uid');
    const gids = statusIds(status, 'Gid');
    if (t.uid !== undefined && uids?.some((u) => u !== t.uid)) {
      fail(`/proc/self/status says Uid ${uids.join(' ')} (real, effective, saved, filesystem)`);
    }
    if (gids?.some((g) => g !== t.gid)) {
      fail(`/proc/self/status says Gid ${gids.join(' ')} (real, effective, saved, filesystem)`);
    }
  }
  if (t.uid !== undefined) {
    let regained = true;
    try {
      calls.setuid(0);
    } catch {
      regained = false;
    }
    if (regained) fail('setuid(0) still succeeds, so root could be regained');
  }
}

interface DropLog {
  info(msg: string): void;
  warn(msg: string): void;
}

const ROOT_WARNING =
  '[uwrouter] warning: running as root; give --uid (and --gid) to drop privileges once the listeners are bound';

/**
 * Becomes the requested user and group (names or numbers), after every listener is bound.
 * Nothing asked: a warning when running as root. Not root: only checks that the process
 * already is what was asked (else ConfigError). Root: sets groups, gid, uid, then verifies;
 * any failure is a ConfigError (the caller stops, nothing keeps running half-dropped).
 */
export function dropPrivileges(
  request: PrivilegeRequest,
  log: DropLog,
  calls: IdentityCalls = processIdentityCalls(),
): void {
  const target = resolvePrivilegeTarget(request, calls);
  if (target === null) {
    if (calls.getuid() === 0) log.warn(ROOT_WARNING);
    return;
  }
  if (calls.getuid() !== 0) {
    const user = target.uid !== undefined ? `${describeUser(target)}, ` : '';
    const group = request.gid !== undefined ? describeGroup(target) : `gid ${calls.getgid()}`;
    log.info(`[uwrouter] already running as ${user}${group}: no privileges to drop`);
    return;
  }
  let step = 'setgroups()';
  try {
    if (target.initgroupsUser !== undefined) {
      step = `initgroups("${target.initgroupsUser}", ${target.gid})`;
      calls.initgroups(target.initgroupsUser, target.gid);
    } else {
      step = `setgroups([${target.gid}])`;
      calls.setgroups([target.gid]);
    }
    // uWSGI's lines (core/utils.c uwsgi_as_root)
    step = `setgid(${target.gid})`;
    log.info(`setgid() to ${target.gid}`);
    calls.setgid(target.gid);
    if (target.uid !== undefined) {
      step = `setuid(${target.uid})`;
      log.info(`setuid() to ${target.uid}`);
      calls.setuid(target.uid);
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`privilege drop failed at ${step}: ${reason}; refusing to continue`);
  }
  verifyDropped(target, calls);
  const groups = calls.getgroups().join(',');
  if (target.uid === undefined) {
    log.info(`[uwrouter] now running with group ${describeGroup(target)}, groups ${groups}`);
    log.warn(ROOT_WARNING);
    return;
  }
  log.info(
    `[uwrouter] now running as ${describeUser(target)}, group ${describeGroup(target)}, groups ${groups}`,
  );
}
