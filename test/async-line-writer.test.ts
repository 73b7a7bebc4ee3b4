import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'uwr-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MODULE = JSON.stringify(new URL('../src/async-line-writer.ts', import.meta.url).href);

/** Line numbers in order, each once: the count of lines (or an error naming the first gap). */
function inOrder(text: string): number {
  const lines = text.split('\n').filter((l) => l !== '');
  for (let i = 0; i < lines.length; i++) {
    assert.equal(lines[i].split(' ')[1], String(i), `line ${i}: ${lines[i].slice(0, 40)}`);
  }
  return lines.length;
}

test('lines from many ticks reach the file in order; a graceful stop waits for them', () => {
  const path = join(dir, 'drain.log');
  const script = `
    const { AsyncLineWriter } = await import(${MODULE});
    const w = new AsyncLineWriter({ path: ${JSON.stringify(path)}, maxQueued: 64 << 20, onError: (e) => { throw e; } });
    let n = 0;
    const burst = (k) => { for (let i = 0; i < k; i++) w.write('line ' + n++ + ' ' + 'x'.repeat(80) + '\\n'); };
    burst(1); burst(5000);
    setImmediate(() => { burst(20000); setImmediate(async () => { burst(5000); await w.drain(5000); process.exit(0); }); });
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(inOrder(readFileSync(path, 'latin1')), 30001);
});

test('an abrupt exit: every line still queued is written by the exit hook', () => {
  const path = join(dir, 'exit.log');
  // all in one tick: line 0 goes to a write of its own, the rest wait in the queue
  const script = `
    const { AsyncLineWriter } = await import(${MODULE});
    const w = new AsyncLineWriter({ path: ${JSON.stringify(path)}, maxQueued: 64 << 20, onError: (e) => { throw e; } });
    for (let i = 0; i < 30000; i++) w.write('line ' + i + ' ' + 'x'.repeat(80) + '\\n');
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // the write of line 0 was handed to the thread pool: it may land after the others
  const lines = readFileSync(path, 'latin1')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('line 0 '));
  assert.equal(inOrder(['line 0 x', ...lines].join('\n')), 30000);
});

test('a non-blocking pipe left full by its reader (EAGAIN): every line arrives in order, also at exit', {
  timeout: 20_000,
}, async () => {
  const script = `
    const { AsyncLineWriter } = await import(${MODULE});
    // Node's own stdout object puts a pipe in non-blocking mode: a full pipe answers EAGAIN
    process.stdout.write('');
    const w = new AsyncLineWriter({ fd: 1, maxQueued: 64 << 20, onError: (e) => { throw e; } });
    for (let i = 0; i < 20000; i++) w.write('line ' + i + ' ' + 'y'.repeat(100) + '\\n');
    // most of it is still queued then: the exit flush waits for the reader
    setTimeout(() => process.exit(0), 50);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // nobody reads for a while: the pipe (64 KiB) fills long before the 2 MB are out
  child.stdout.pause();
  await new Promise((r) => setTimeout(r, 300));
  const parts: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => parts.push(c));
  child.stdout.resume();
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 0, stderr);
  assert.equal(inOrder(Buffer.concat(parts).toString('latin1')), 20000);
});
