/**
 * The privilege drop against a recording fake of the identity calls (the real drop, as
 * root, is tested through the command in test/process/identity-cli.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { findGroup, findUser } from '../../src/process/accounts.ts';
import {
  dropPrivileges,
  type IdentityCalls,
  privilegeRequestFromConfig,
  resolvePrivilegeTarget,
} from '../../src/process/privileges.ts';

const nobody = findUser('nobody')!;
const nogroup = findGroup('nogroup')!;
const wwwData = findUser('www-data')!;

interface FakeIds {
  uid: number;
  euid: number;
  gid: number;
  egid: number;
  groups: number[];
}

/** Behaves as the kernel does for root and non-root, and records the calls in order. */
class FakeCalls implements IdentityCalls {
  ids: FakeIds;
  calls: string[] = [];
  /** break one call: 'setuid-noop' leaves the ids as they were */
  broken: 'setuid-noop' | 'saved-uid-kept' | 'keeps-root' | null = null;
  saved = 0;
  constructor(uid = 0, gid = 0) {
    this.ids = { uid, euid: uid, gid, egid: gid, groups: [gid] };
    this.saved = uid;
  }
  getuid = () => this.ids.uid;
  geteuid = () => this.ids.euid;
  getgid = () => this.ids.gid;
  getegid = () => this.ids.egid;
  getgroups = () => [...this.ids.groups];
  private needRoot(what: string): void {
    if (this.ids.euid !== 0) throw Object.assign(new Error(`EPERM, ${what}`), { code: 'EPERM' });
  }
  setuid = (id: number) => {
    this.calls.push(`setuid(${id})`);
    if (this.broken === 'setuid-noop') return;
    if (this.broken === 'keeps-root' && id === 0) {
      this.ids.uid = 0;
      this.ids.euid = 0;
      return;
    }
    if (this.ids.euid !== 0 && id !== this.ids.uid && id !== this.saved) this.needRoot('setuid');
    this.ids.uid = id;
    this.ids.euid = id;
    if (this.broken !== 'saved-uid-kept' && this.broken !== 'keeps-root') this.saved = id;
  };
  setgid = (id: number) => {
    this.calls.push(`setgid(${id})`);
    this.needRoot('setgid');
    this.ids.gid = id;
    this.ids.egid = id;
  };
  setgroups = (groups: number[]) => {
    this.calls.push(`setgroups(${groups.join(',')})`);
    this.needRoot('setgroups');
    this.ids.groups = [...groups];
  };
  initgroups = (user: string, extra: number) => {
    this.calls.push(`initgroups(${user},${extra})`);
    this.needRoot('initgroups');
    this.ids.groups = [extra];
  };
  procStatus = () =>
    `Name:\tnode\nUid:\t${this.ids.uid}\t${this.ids.euid}\t${this.saved}\t${this.ids.euid}\nGid:\t${this.ids.gid}\t${this.ids.egid}\t${this.ids.gid}\t${this.ids.egid}\n`;
}

function recordingLog(): { lines: string[]; info(m: string): void; warn(m: string): void } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) };
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('no ConfigError');
}

test('root → nobody: groups first, then setgid, then setuid, then verified (setuid(0) must fail)', () => {
  const calls = new FakeCalls();
  const log = recordingLog();
  dropPrivileges({ uid: 'nobody' }, log, calls);
  assert.deepEqual(calls.calls, [
    `initgroups(nobody,${nobody.gid})`,
    `setgid(${nobody.gid})`,
    `setuid(${nobody.uid})`,
    'setuid(0)',
  ]);
  assert.deepEqual(calls.ids, {
    uid: nobody.uid,
    euid: nobody.uid,
    gid: nobody.gid,
    egid: nobody.gid,
    groups: [nobody.gid],
  });
  assert.deepEqual(log.lines, [
    `info setgid() to ${nobody.gid}`,
    `info setuid() to ${nobody.uid}`,
    `info [uwrouter] now running as nobody (uid ${nobody.uid}), group nogroup (gid ${nobody.gid}), groups ${nobody.gid}`,
  ]);
});

test('an explicit --gid wins over the primary group; a numeric uid without an account needs --gid', () => {
  const calls = new FakeCalls();
  dropPrivileges({ uid: 'www-data', gid: 'nogroup' }, recordingLog(), calls);
  assert.deepEqual(calls.ids, {
    uid: wwwData.uid,
    euid: wwwData.uid,
    gid: nogroup.gid,
    egid: nogroup.gid,
    groups: [nogroup.gid],
  });
  assert.equal(calls.calls[0], `initgroups(www-data,${nogroup.gid})`);

  const noAccount = new FakeCalls();
  assert.match(
    configError(() => dropPrivileges({ uid: '4242' }, recordingLog(), noAccount)),
    /^option "--uid": uid 4242 has no account, so it has no primary group to run as; give --gid too$/,
  );
  assert.deepEqual(noAccount.calls, [], 'refused before any call');
  dropPrivileges({ uid: '4242', gid: '4343' }, recordingLog(), noAccount);
  assert.deepEqual(noAccount.calls, ['setgroups(4343)', 'setgid(4343)', 'setuid(4242)', 'setuid(0)']);
});

test('root given explicitly is refused (uid 0 and gid 0, by name or number)', () => {
  for (const [req, re] of [
    [{ uid: 'root' }, /^option "--uid": "root" is root \(uid 0\), which keeps every privilege/],
    [{ uid: '0' }, /^option "--uid": "0" is root \(uid 0\)/],
    [{ uid: 'nobody', gid: 'root' }, /^option "--gid": "root" is the root group \(gid 0\)/],
    [{ gid: '0', gidOption: 'http-gid' }, /^option "--http-gid": "0" is the root group/],
  ] as const) {
    const calls = new FakeCalls();
    assert.match(
      configError(() => dropPrivileges(req, recordingLog(), calls)),
      re,
    );
    assert.deepEqual(calls.calls, []);
  }
});

test('unknown names are refused before anything is bound', () => {
  assert.equal(
    configError(() => resolvePrivilegeTarget({ uid: 'nobdy' }, new FakeCalls())),
    'option "--uid": there is no user named "nobdy"',
  );
  assert.equal(
    configError(() => resolvePrivilegeTarget({ uid: 'nobody', gid: 'nogrp' }, new FakeCalls())),
    'option "--gid": there is no group named "nogrp"',
  );
});

test('a drop the kernel did not make stops uwrouter: ids unchanged, saved uid kept, root regained', () => {
  for (const [broken, re] of [
    [
      'setuid-noop',
      /^privilege drop failed: still uid 0 \(effective 0\) after setuid\(65534\); refusing to continue$/,
    ],
    ['saved-uid-kept', /^privilege drop failed: \/proc\/self\/status says Uid 65534 65534 0 65534/],
    ['keeps-root', /privilege drop failed: (\/proc\/self\/status says Uid|setuid\(0\) still succeeds)/],
  ] as const) {
    const calls = new FakeCalls();
    calls.broken = broken;
    assert.match(
      configError(() => dropPrivileges({ uid: 'nobody' }, recordingLog(), calls)),
      re,
      broken,
    );
  }
});

test('a failing call is a ConfigError naming the step', () => {
  const calls = new FakeCalls();
  calls.setgid = () => {
    throw Object.assign(new Error('EINVAL, Invalid argument'), { code: 'EINVAL' });
  };
  assert.equal(
    configError(() => dropPrivileges({ uid: 'nobody' }, recordingLog(), calls)),
    `privilege drop failed at setgid(${nobody.gid}): EINVAL, Invalid argument; refusing to continue`,
  );
});

test('not root: asking for the identity it already has is fine; anything else is refused early', () => {
  const calls = new FakeCalls(nobody.uid, nobody.gid);
  const log = recordingLog();
  dropPrivileges({ uid: 'nobody' }, log, calls);
  assert.deepEqual(calls.calls, []);
  assert.deepEqual(log.lines, [
    `info [uwrouter] already running as nobody (uid ${nobody.uid}), gid ${nobody.gid}: no privileges to drop`,
  ]);
  // --uid alone does not ask for the primary group: running with another gid is fine
  const otherGroup = new FakeCalls(nobody.uid, 4242);
  const quiet = recordingLog();
  dropPrivileges({ uid: 'nobody' }, quiet, otherGroup);
  assert.deepEqual(quiet.lines, [
    `info [uwrouter] already running as nobody (uid ${nobody.uid}), gid 4242: no privileges to drop`,
  ]);
  dropPrivileges({ gid: 'nogroup' }, recordingLog(), calls);
  assert.match(
    configError(() => resolvePrivilegeTarget({ uid: 'www-data' }, calls)),
    /^option "--uid": uwrouter runs as uid 65534, not as root, so it cannot become www-data \(uid 33\)/,
  );
  assert.match(
    configError(() => resolvePrivilegeTarget({ gid: 'www-data', gidOption: 'fastrouter-gid' }, calls)),
    /^option "--fastrouter-gid": uwrouter runs as gid 65534, not as root, so it cannot switch to www-data \(gid 33\)$/,
  );
});

test('nothing asked: root gets a warning, others nothing', () => {
  const log = recordingLog();
  dropPrivileges({}, log, new FakeCalls());
  assert.deepEqual(log.lines, [
    'warn [uwrouter] warning: running as root; give --uid (and --gid) to drop privileges once the listeners are bound',
  ]);
  const quiet = recordingLog();
  dropPrivileges({}, quiet, new FakeCalls(1000, 1000));
  assert.deepEqual(quiet.lines, []);
});

test("--uid and the routers' --X-uid/--X-gid must agree; by name or number", () => {
  const req = (args: string[]) =>
    privilegeRequestFromConfig(loadConfig(['--http', ':0', '--fastrouter', ':0', ...args], {}).config);
  assert.deepEqual(req(['--http-uid', 'nobody']), { uid: 'nobody', uidOption: 'http-uid' });
  assert.deepEqual(
    req(['--uid', 'nobody', '--fastrouter-uid', String(nobody.uid), '--http-gid', 'nogroup']),
    {
      uid: 'nobody',
      uidOption: 'uid',
      gid: 'nogroup',
      gidOption: 'http-gid',
    },
  );
  assert.equal(
    configError(() => req(['--fastrouter-uid', 'nobody', '--http-uid', 'www-data'])),
    "--fastrouter-uid nobody, --http-uid www-data: uwrouter's routers share their processes, so they run as one user; give the same value (or one --uid)",
  );
  assert.match(
    configError(() => req(['--gid', 'nogroup', '--fastrouter-gid', 'www-data'])),
    /run as one group/,
  );
});
