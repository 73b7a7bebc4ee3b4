import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openLogFile } from '../../src/process/log-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'uwr-logfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function settled(): Promise<void> {
  // the writes go through the thread pool
  await new Promise((r) => setTimeout(r, 50));
}

test('appends to the file (created 0640, as uWSGI logto does)', async () => {
  const path = join(dir, 'a.log');
  writeFileSync(path, 'before\n');
  const f = openLogFile(path);
  f.write('one\n');
  f.write('two\n');
  await f.close();
  assert.equal(readFileSync(path, 'utf8'), 'before\none\ntwo\n');
  const fresh = openLogFile(join(dir, 'fresh.log'));
  await fresh.close();
  assert.equal(statSync(join(dir, 'fresh.log')).mode & 0o777, 0o640);
});

test('reopen after a rename (logrotate): later lines go to a new file at the path', async () => {
  const path = join(dir, 'rot.log');
  const f = openLogFile(path);
  f.write('old 1\n');
  await settled();
  renameSync(path, `${path}.1`);
  f.write('old 2\n'); // still the renamed file: nothing reopened yet
  f.reopen();
  f.write('new 1\n');
  await f.close();
  await settled();
  assert.equal(readFileSync(`${path}.1`, 'utf8'), 'old 1\nold 2\n');
  assert.equal(readFileSync(path, 'utf8'), 'new 1\n');
});

test('a reopen that fails keeps writing to the file it had, and says why', async () => {
  const sub = join(dir, 'gone');
  mkdirSync(sub);
  const path = join(sub, 'x.log');
  const f = openLogFile(path);
  f.write('a\n');
  await settled();
  renameSync(path, join(dir, 'x.log.1'));
  rmSync(sub, { recursive: true });
  assert.throws(
    () => f.reopen(),
    /^Error: cannot open ".*\/gone\/x\.log": ENOENT \(no such file or directory\)$/,
  );
  f.write('b\n');
  await f.close();
  assert.equal(readFileSync(join(dir, 'x.log.1'), 'utf8'), 'a\nb\n');
});

test('a directory or an unreachable path is refused when opening', () => {
  assert.throws(() => openLogFile(dir), /it is a directory|EISDIR/);
  assert.throws(() => openLogFile(join(dir, 'no', 'such', 'f.log')), /ENOENT/);
});

test('a relative path is resolved once, so a later chdir does not move the log', async () => {
  const prev = process.cwd();
  process.chdir(dir);
  const f = openLogFile('rel.log');
  process.chdir(prev);
  assert.equal(f.path, join(dir, 'rel.log'));
  f.write('x\n');
  await f.close();
  assert.equal(readFileSync(join(dir, 'rel.log'), 'utf8'), 'x\n');
});

test('every line queued before process.exit() reaches the file', () => {
  const path = join(dir, 'exit.log');
  const mod = pathToFileURL(join(import.meta.dirname, '../../src/process/log-file.ts')).href;
  const script = `import { openLogFile } from ${JSON.stringify(mod)};
const f = openLogFile(${JSON.stringify(path)});
for (let i = 0; i < 50000; i++) f.write('line ' + i + ' ' + 'x'.repeat(40) + '\\n');
process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.length, 50001);
  assert.equal(lines[49999], `line 49999 ${'x'.repeat(40)}`);
});
