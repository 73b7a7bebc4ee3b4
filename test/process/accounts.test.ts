import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { findGroup, findUser, numericId } from '../../src/process/accounts.ts';

/** The expected entries, read here independently of the module (awk-style). */
function passwdEntry(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

test('users by name and by number, with their primary group', () => {
  const root = findUser('root');
  assert.deepEqual(root, { name: 'root', uid: 0, gid: 0 });
  const nobody = passwdEntry('nobody');
  assert.ok(nobody, 'this machine has a nobody account');
  assert.deepEqual(findUser('nobody'), { name: 'nobody', ...nobody });
  assert.deepEqual(findUser(String(nobody.uid)), { name: 'nobody', ...nobody });
});

test('groups by name and by number', () => {
  assert.deepEqual(findGroup('root'), { name: 'root', gid: 0 });
  assert.deepEqual(findGroup('0'), { name: 'root', gid: 0 });
  const nogroup = findGroup('nogroup');
  assert.ok(nogroup && nogroup.gid > 0);
  assert.deepEqual(findGroup(String(nogroup.gid)), nogroup);
});

test('unknown or malformed names are not found (and never reach getent as options)', () => {
  assert.equal(findUser('no-such-user-uwrouter'), undefined);
  assert.equal(findGroup('no-such-group-uwrouter'), undefined);
  assert.equal(findUser('4242424242'), undefined, 'a number without an account');
  for (const bad of ['', 'a:b', 'root\n', ' root', 'root:x:0', '-s', '--service=files']) {
    assert.equal(findUser(bad), undefined, JSON.stringify(bad));
    assert.equal(findGroup(bad), undefined, JSON.stringify(bad));
  }
});

test('numeric ids: digits only, within uid_t (uWSGI is_a_number)', () => {
  assert.equal(numericId('0'), 0);
  assert.equal(numericId('65534'), 65534);
  assert.equal(numericId('4294967294'), 4294967294);
  for (const bad of ['', '-1', '1e3', ' 1', '0x10', '4294967295', '99999999999']) {
    assert.equal(numericId(bad), undefined, bad);
  }
});
