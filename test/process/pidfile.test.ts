import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../../src/errors.ts';
import { inspectPidfile, writePidfile } from '../../src/process/pidfile.ts';

const dir = mkdtempSync(join(tmpdir(), 'uwr-pidfile-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function log(): { lines: string[]; info(m: string): void; warn(m: string): void } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warn ${m}`) };
}

/** A process that runs until the test ends. */
function sleeper(): ChildProcess {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

test('writes "PID\\n", says so as uWSGI does, leaves no temporary file, removes it at stop', () => {
  const path = join(dir, 'a.pid');
  const l = log();
  const p = writePidfile(path, l);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
  assert.equal(lstatSync(path).mode & 0o777, 0o644);
  assert.deepEqual(l.lines, [`writing pidfile to ${path}`]);
  assert.deepEqual(readdirSync(dir), ['a.pid']);
  p.remove(l);
  assert.equal(existsSync(path), false);
  assert.equal(l.lines.at(-1), `[uwrouter] pidfile ${path} removed`);
});

test('a pidfile of a running process that started before it was written stops the start', async () => {
  const other = sleeper();
  await sleep(50);
  const path = join(dir, 'live.pid');
  writeFileSync(path, `${other.pid}\n`);
  assert.deepEqual(inspectPidfile(path), { kind: 'live', pid: other.pid });
  assert.throws(
    () => writePidfile(path, log()),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        `option "--pidfile": "${path}" holds pid ${other.pid}, a process that is running and started before the file was written (another uwrouter?); stop it, or remove the file if it is not uwrouter`,
  );
  assert.equal(readFileSync(path, 'utf8'), `${other.pid}\n`, 'left untouched');
});

test('stale pidfiles are replaced with a line saying why', async () => {
  const dead = spawn('true');
  await new Promise((r) => dead.once('exit', r));
  const young = sleeper();
  await sleep(50);
  const cases: Array<[string, string, (p: string) => void]> = [
    ['dead.pid', `pid ${dead.pid} is not running`, (p) => writeFileSync(p, `${dead.pid}\n`)],
    ['garbage.pid', 'it does not hold a pid', (p) => writeFileSync(p, 'hello\n')],
    ['self.pid', `pid ${process.pid} is this process`, (p) => writeFileSync(p, `${process.pid}`)],
    [
      'reused.pid',
      `pid ${young.pid} now belongs to a process started after the file was written`,
      (p) => {
        // written an hour before that process started: its pid was recycled
        writeFileSync(p, `${young.pid}\n`);
        const t = Date.now() / 1000 - 3600;
        utimesSync(p, t, t);
      },
    ],
  ];
  for (const [name, why, make] of cases) {
    const path = join(dir, name);
    make(path);
    const l = log();
    const p = writePidfile(path, l);
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`, name);
    assert.equal(l.lines[1], `[uwrouter] replaced the stale pidfile ${path}: ${why}`, name);
    p.remove(l);
  }
});

test('a symlink at the path is replaced, never followed', () => {
  const target = join(dir, 'precious');
  writeFileSync(target, 'do not touch\n');
  const path = join(dir, 'link.pid');
  symlinkSync(target, path);
  const p = writePidfile(path, log());
  assert.equal(readFileSync(target, 'utf8'), 'do not touch\n');
  assert.ok(lstatSync(path).isFile());
  p.remove(log());
});

test('an unwritable place is a start-up error naming the file and the reason', () => {
  assert.throws(
    () => writePidfile(join(dir, 'no-such-dir', 'x.pid'), log(), 'pidfile2'),
    /^ConfigError: option "--pidfile2": cannot write ".*no-such-dir\/x\.pid": ENOENT \(no such file or directory\)$/,
  );
});

test('at stop a file that no longer holds our pid is left in place', () => {
  const path = join(dir, 'taken.pid');
  const p = writePidfile(path, log());
  writeFileSync(path, '12345\n');
  const l = log();
  p.remove(l);
  assert.equal(readFileSync(path, 'utf8'), '12345\n');
  assert.deepEqual(l.lines, [
    `warn [uwrouter] ${path} now holds "12345", not this process's pid ${process.pid}: left in place`,
  ]);
});
