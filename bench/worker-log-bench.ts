/**
 * How a router worker's log lines reach the --logto file (the decision in
 * src/cluster/worker-log.ts): each worker appending to the file itself (an O_APPEND
 * descriptor the primary opened and passed at fork, written through the same asynchronous
 * destination as the primary's log file), or each line sent to the primary over the IPC
 * channel and written there. N workers write L lines each as fast as they can; the bench
 * prints the wall time, the CPU time of the workers and of the primary, and checks that the
 * file holds every line whole (no two lines interleaved).
 *
 *   node bench/worker-log-bench.ts [--workers 2] [--lines 200000] [--bytes 180]
 */
import { fork } from 'node:child_process';
import { constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    lines: { type: 'string', default: '200000' },
    bytes: { type: 'string', default: '180' },
    child: { type: 'string' },
  },
});

const LINES = Number(values.lines);
const BYTES = Number(values.bytes);

function line(worker: number, i: number): string {
  const head = `[w${worker}] line ${i} `;
  return `${head}${'x'.repeat(Math.max(0, BYTES - head.length - 1))}\n`;
}

/** A worker: writes its lines to fd 4 (own) or over IPC (ipc), then reports its CPU time. */
async function child(mode: string, worker: number): Promise<void> {
  const start = process.cpuUsage();
  if (mode === 'own') {
    const dest = pino.destination({ dest: 4, sync: false, maxLength: 8 * 1024 * 1024 });
    for (let i = 0; i < LINES; i++) {
      // as fast as the file takes them (the router's bound would drop lines past 8 MiB)
      if (!dest.write(line(worker, i))) await new Promise((r) => dest.once('drain', r));
    }
    await new Promise<void>((r) => {
      dest.once('close', () => r());
      dest.end();
    });
  } else {
    for (let i = 0; i < LINES; i++) {
      // as fast as the channel takes them
      if (process.send?.({ t: 'log', line: line(worker, i) }) === false)
        await new Promise((r) => setImmediate(r));
    }
  }
  const cpu = process.cpuUsage(start);
  process.send?.({ t: 'done', cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
}

async function run(mode: 'own' | 'ipc', workers: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'uwr-worker-log-'));
  const path = join(dir, 'log');
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640);
  const primary = pino.destination({ dest: fd, sync: false, maxLength: 64 * 1024 * 1024 });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let workerCpu = 0;
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const c = fork(
        process.argv[1],
        ['--child', `${mode}:${w}`, '--lines', String(LINES), '--bytes', String(BYTES)],
        {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc', fd],
        },
      );
      return new Promise<void>((resolve) => {
        c.on('message', (m: { t: string; line?: string; cpuMs?: number }) => {
          if (m.t === 'log') primary.write(m.line as string);
          else if (m.t === 'done') workerCpu += m.cpuMs as number;
        });
        c.once('exit', () => resolve());
      });
    }),
  );
  await new Promise<void>((r) => {
    primary.once('close', () => r());
    primary.end();
  });
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const text = readFileSync(path, 'latin1');
  const lines = text.split('\n').filter((l) => l !== '');
  const whole = lines.every((l) => /^\[w\d+\] line \d+ x*$/.test(l) && l.length === BYTES - 1);
  console.log(
    `${mode.padEnd(4)} ${workers} workers × ${LINES} lines of ${BYTES} B: ${wall.toFixed(0)} ms wall, ` +
      `workers ${workerCpu.toFixed(0)} ms CPU, primary ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, ` +
      `${lines.length} lines in the file, ${whole ? 'all whole' : 'SOME CUT OR INTERLEAVED'}`,
  );
  rmSync(dir, { recursive: true, force: true });
}

if (values.child) {
  const [mode, w] = values.child.split(':');
  await child(mode, Number(w));
} else {
  const workers = Number(values.workers);
  for (const mode of ['own', 'ipc', 'own', 'ipc'] as const) await run(mode, workers);
}
