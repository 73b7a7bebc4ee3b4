import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { listen } from '../../src/corerouter/listener.ts';
import { findGroup, findUser } from '../../src/process/accounts.ts';
import {
  parseSocketMode,
  parseSocketOwner,
  unixSocketSettingsFromConfig,
  withNarrowedUmask,
} from '../../src/process/unix-socket-mode.ts';

const dir = mkdtempSync(join(tmpdir(), 'uwr-sockmode-'));
const opened: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const l of opened) await l.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A listener closed when the file ends, even when an assertion failed first. */
async function bound(...args: Parameters<typeof listen>): ReturnType<typeof listen> {
  const l = await listen(...args);
  opened.push(l);
  return l;
}
const isRoot = process.getuid?.() === 0;

test("--chmod-socket: three octal digits; no value or 1 = 666 (uWSGI's rules)", () => {
  assert.deepEqual(parseSocketMode(''), { ok: true, mode: 0o666 });
  assert.deepEqual(parseSocketMode('1'), { ok: true, mode: 0o666 });
  assert.deepEqual(parseSocketMode('660'), { ok: true, mode: 0o660 });
  assert.deepEqual(parseSocketMode('600'), { ok: true, mode: 0o600 });
  for (const bad of ['0', '66', '0660', '668', 'rw', 'true']) {
    assert.equal(parseSocketMode(bad).ok, false, bad);
  }
  const opt = (v: string[]) =>
    unixSocketSettingsFromConfig(loadConfig(['--fastrouter', ':0', ...v], {}).config);
  assert.deepEqual(opt(['--chmod-socket']), { mode: 0o666 });
  assert.deepEqual(opt(['--chmod=640']), { mode: 0o640 });
  assert.equal(opt([]), undefined);
  assert.throws(() => opt(['--chmod-socket=99']), /option "--chmod-socket": "99" is not a mode/);
});

test('--chown-socket: USER[:GROUP], names or numbers; unknown ones are refused', () => {
  const www = findUser('www-data')!;
  const nogroup = findGroup('nogroup')!;
  assert.deepEqual(parseSocketOwner('www-data'), { ok: true, owner: { uid: www.uid, gid: -1 } });
  assert.deepEqual(parseSocketOwner('www-data:nogroup'), {
    ok: true,
    owner: { uid: www.uid, gid: nogroup.gid },
  });
  assert.deepEqual(parseSocketOwner('1234:5678'), { ok: true, owner: { uid: 1234, gid: 5678 } });
  assert.deepEqual(parseSocketOwner('nobdy'), { ok: false, error: 'there is no user named "nobdy"' });
  assert.deepEqual(parseSocketOwner('www-data:nogrp'), {
    ok: false,
    error: 'there is no group named "nogrp"',
  });
  assert.equal(parseSocketOwner(':nogroup').ok, false);
  assert.equal(parseSocketOwner('www-data:').ok, false);
});

test('a UNIX listener gets the asked mode (and owner, as root); the umask is restored', {
  skip: !isRoot && 'needs root for chown',
}, async () => {
  const www = findUser('www-data')!;
  const path = join(dir, 'r.sock');
  const umaskBefore = process.umask(0o022);
  process.umask(umaskBefore);
  const l = await bound(
    path,
    { backlog: 10, sharedSockets: [], unixSocket: { mode: 0o660, owner: { uid: www.uid, gid: www.gid } } },
    (s) => s.destroy(),
  );
  const st = statSync(path);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.uid, www.uid);
  assert.equal(st.gid, www.gid);
  const umaskAfter = process.umask(0o022);
  process.umask(umaskAfter);
  assert.equal(umaskAfter, umaskBefore);
  await l.close();
});

test('a mode wider than the umask allows is still applied (666 for "lazy and brave users")', async () => {
  const path = join(dir, 'wide.sock');
  const l = await bound(path, { backlog: 10, sharedSockets: [], unixSocket: { mode: 0o666 } }, (s) =>
    s.destroy(),
  );
  assert.equal(statSync(path).mode & 0o777, 0o666);
  await l.close();
});

test('the socket file is created under a umask that never gives more than the mode', () => {
  const prev = process.umask(0o022);
  let inside = -1;
  withNarrowedUmask(0o660, () => {
    inside = process.umask(0o777);
    process.umask(inside);
  });
  assert.equal(inside, 0o022 | 0o117, 'narrowed: the old umask plus the bits 660 lacks');
  assert.equal(process.umask(prev), 0o022, 'restored');
});

test('abstract sockets (@name) have no file: settings are not applied, no error', async () => {
  const l = await bound(
    `@uwr-abstract-${process.pid}`,
    { backlog: 10, sharedSockets: [], unixSocket: { mode: 0o600 } },
    (s) => s.destroy(),
  );
  await l.close();
});
