/**
 * The command with its process files: pidfile, log file with logrotate-style reopen,
 * privilege drop after binding a port below 1024, and running in the background.
 * Runs `node src/cli.ts` through the interop harness (loopback, free ports, cleaned up).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { procStat } from '../../src/process/proc-stat.ts';
import {
  childPids,
  freePort,
  httpGet,
  isProcessGone,
  pollUntil,
  REPO_ROOT,
  startUwrouter,
  throughWorker,
  tmpDir,
  uwrouterEntry,
} from '../interop/harness/index.ts';

const isRoot = process.getuid?.() === 0;

async function httpApp(): Promise<{ server: Server; address: string }> {
  const server = createHttpServer((_req, res) => res.end('app says hi'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  return { server, address: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}` };
}
const app = await httpApp();
after(() => app.server.close());

/** Daemons started by a test (their own session: the harness's group kill cannot reach them). */
const daemons: number[] = [];
after(() => {
  for (const pid of daemons) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** A directory the dropped user may write (tmpDir makes 0700 ones). */
function openDir(name: string): string {
  const parent = tmpDir(name);
  chmodSync(parent, 0o755);
  const d = join(parent, 'shared');
  mkdirSync(d);
  chmodSync(d, 0o777);
  return d;
}

/** The port accepts a moment before the pidfile is written (after binding): wait for it. */
const pidIn = (file: string) =>
  pollUntil(`the pid in ${file}`, () => (existsSync(file) ? readFileSync(file, 'utf8') : undefined));

const logged = (file: string, re: RegExp) => () =>
  existsSync(file) && re.test(readFileSync(file, 'utf8')) ? true : undefined;

/** The primary's workers, once there are `n`. */
const workersOf = (primary: number, n: number) =>
  pollUntil(`${n} workers`, () => {
    const pids = childPids(primary);
    return pids.length === n ? pids : undefined;
  });

/** /proc/PID/status `Name:\tA\tB…` fields. */
function statusIds(pid: number, field: 'Uid' | 'Gid' | 'Groups'): string {
  const m = new RegExp(`^${field}:\\t?(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return (m?.[1] ?? '').trim().replace(/\s+/g, ' ');
}

/** A free port below 1024 on 127.0.0.1 (only root can bind it), tried from the top down. */
async function freeLowPort(): Promise<number> {
  for (let port = 1023; port > 600; port--) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port below 1024');
}

test('--pidfile: written with the pid once serving, removed at stop', async () => {
  const dir = tmpDir('pidfile');
  const pidfile = join(dir, 'uwrouter.pid');
  const port = await freePort();
  const r = await startUwrouter([
    '--http',
    `127.0.0.1:${port}`,
    '--http-to',
    app.address,
    '--pidfile',
    pidfile,
  ]);
  assert.equal(await pidIn(pidfile), `${r.pid}\n`);
  assert.match(r.logs(), new RegExp(`writing pidfile to ${pidfile}\n`));
  assert.deepEqual(await r.stop('SIGTERM'), { code: 0, signal: null });
  assert.equal(existsSync(pidfile), false, r.logs());
});

test('--pidfile naming a running uwrouter stops the second start; the first keeps its file', async () => {
  const dir = tmpDir('pidfile-live');
  const pidfile = join(dir, 'uwrouter.pid');
  const first = await startUwrouter([
    '--http',
    `127.0.0.1:${await freePort()}`,
    '--http-to',
    app.address,
    '--pidfile',
    pidfile,
  ]);
  await pidIn(pidfile);
  const r = spawnSync(
    process.execPath,
    [
      uwrouterEntry('src'),
      '--http',
      `127.0.0.1:${await freePort()}`,
      '--http-to',
      app.address,
      '--pidfile',
      pidfile,
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`option "--pidfile": "${pidfile}" holds pid ${first.pid}, a process that is running`),
  );
  assert.equal(readFileSync(pidfile, 'utf8'), `${first.pid}\n`);
  await first.stop('SIGTERM');
});

test('--logto: lines go to the file; SIGUSR2 and SIGHUP reopen it after a rename (logrotate)', async () => {
  const dir = tmpDir('logto');
  const log = join(dir, 'uwrouter.log');
  const port = await freePort();
  const r = await startUwrouter(['--http', `127.0.0.1:${port}`, '--http-to', app.address, '--logto', log]);
  await pollUntil(
    'the bound line in the log file',
    logged(log, /uWSGI http bound on 127\.0\.0\.1:\d+ fd \d+\n/),
  );
  assert.doesNotMatch(r.logs(), /bound on/, 'nothing on stderr');
  for (const signal of ['SIGUSR2', 'SIGHUP'] as const) {
    const rotated = `${log}.${signal}`;
    renameSync(log, rotated);
    process.kill(r.pid, signal);
    await pollUntil(
      `the reopened file after ${signal}`,
      logged(log, new RegExp(`${signal} received: reopened log file ${log}\n`)),
    );
    const before = readFileSync(rotated, 'utf8');
    process.kill(r.pid, 'SIGUSR1');
    await pollUntil('the stats line in the new file', logged(log, /SIGUSR1 stats: http /));
    assert.equal(readFileSync(rotated, 'utf8'), before, 'nothing after the reopen went to the renamed file');
  }
  assert.equal((await httpGet(`http://127.0.0.1:${port}/`)).text, 'app says hi');
  assert.deepEqual(await r.stop('SIGTERM'), { code: 0, signal: null });
  assert.match(readFileSync(log, 'utf8'), /SIGTERM received, shutting down: no new connections/);
});

test('--logto with --log-format json: one JSON object per line in the file', async () => {
  const log = join(tmpDir('logto-json'), 'u.log');
  const r = await startUwrouter([
    ...[
      '--http',
      `127.0.0.1:${await freePort()}`,
      '--http-to',
      app.address,
      '--logto',
      log,
      '--log-format',
      'json',
    ],
  ]);
  await pollUntil('a JSON bound line', logged(log, /"msg":"uWSGI http bound on/));
  await r.stop('SIGTERM');
  for (const line of readFileSync(log, 'utf8').trimEnd().split('\n')) {
    const o = JSON.parse(line) as { pid: number; msg: string };
    assert.equal(o.pid, r.pid);
  }
});

test('started as root: binds a port below 1024, then serves as nobody (Uid/Gid/Groups)', {
  skip: !isRoot && 'needs root',
}, async () => {
  const port = await freeLowPort();
  const files = openDir('drop');
  const pidfile = join(files, 'before.pid');
  const pidfile2 = join(files, 'after.pid');
  const r = await startUwrouter([
    ...['--http', `127.0.0.1:${port}`, '--http-to', app.address, '--uid', 'nobody', '--gid', 'nogroup'],
    ...['--pidfile', pidfile, '--pidfile2', pidfile2],
  ]);
  await pollUntil('the drop', () => (/now running as nobody/.test(r.logs()) ? true : undefined));
  assert.equal(statusIds(r.pid, 'Uid'), '65534 65534 65534 65534');
  assert.equal(statusIds(r.pid, 'Gid'), '65534 65534 65534 65534');
  assert.equal(statusIds(r.pid, 'Groups'), '65534');
  const res = await httpGet(`http://127.0.0.1:${port}/`);
  assert.equal(res.text, 'app says hi', 'serves on the port bound before the drop');
  assert.match(r.logs(), /setgid\(\) to 65534\nsetuid\(\) to 65534\n/);
  // pidfile as root before the drop, pidfile2 after: its owner says which
  assert.equal(await pidIn(pidfile), `${r.pid}\n`);
  assert.equal(await pidIn(pidfile2), `${r.pid}\n`);
  assert.deepEqual(await r.stop('SIGTERM'), { code: 0, signal: null });
  assert.equal(existsSync(pidfile2), false);
  assert.equal(existsSync(pidfile), false, 'the directory is writable by nobody, so it can go too');
});

test('as root without --uid: one warning line says so', { skip: !isRoot && 'needs root' }, async () => {
  const r = await startUwrouter(['--http', `127.0.0.1:${await freePort()}`, '--http-to', app.address]);
  await pollUntil('the warning', () => (/running as root; give --uid/.test(r.logs()) ? true : undefined));
  await r.stop('SIGTERM');
});

test('--daemonize: the command returns once the background process serves, in its own session', async () => {
  const dir = openDir('daemon');
  const log = join(dir, 'd.log');
  const pidfile = join(dir, 'd.pid');
  const port = await freePort();
  const started = spawnSync(
    process.execPath,
    [
      uwrouterEntry('src'),
      '--http',
      `127.0.0.1:${port}`,
      '--http-to',
      app.address,
      '--daemonize',
      log,
      '--pidfile',
      pidfile,
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(started.status, 0, started.stderr);
  const pid = Number(readFileSync(pidfile, 'utf8'));
  daemons.push(pid);
  assert.equal(started.stderr, `uwrouter: running in the background as pid ${pid}, logging to ${log}\n`);
  // serving as soon as the command returned: no waiting
  assert.equal((await httpGet(`http://127.0.0.1:${port}/`)).text, 'app says hi');
  const f = procStat(pid) ?? [];
  const [ppid, pgrp, session, ttyNr] = [f[1], f[2], f[3], f[4]].map(Number);
  assert.equal(session, pid, 'a new session (setsid)');
  assert.equal(pgrp, pid, 'its own process group');
  assert.equal(ttyNr, 0, 'no controlling terminal');
  assert.notEqual(ppid, process.pid);
  assert.notEqual(ppid, started.pid, 'its starter has exited');
  assert.equal(isProcessGone(started.pid!), true);
  assert.equal(readlinkSync(`/proc/${pid}/fd/0`), '/dev/null', 'stdin from /dev/null');
  assert.equal(readlinkSync(`/proc/${pid}/fd/2`), log, 'stderr to the log file');
  assert.match(readFileSync(log, 'utf8'), /uWSGI http bound on /);
  process.kill(pid, 'SIGTERM');
  await pollUntil('the daemon stops', () => (isProcessGone(pid) ? true : undefined));
  assert.equal(existsSync(pidfile), false);
  assert.match(readFileSync(log, 'utf8'), /SIGTERM received, shutting down: no new connections/);
});

test('--daemonize: a background start that fails is reported by the command, with what it logged', async () => {
  const dir = tmpDir('daemon-fail');
  const log = join(dir, 'd.log');
  writeFileSync(log, 'an older line\n');
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const a = busy.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const r = spawnSync(
    process.execPath,
    [uwrouterEntry('src'), '--http', `127.0.0.1:${port}`, '--http-to', app.address, '--daemonize', log],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 },
  );
  busy.close();
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^uwrouter: the background process exited while starting \\(exit code 1\\); it logged to ${log}:\\n.*cannot listen on "127\\.0\\.0\\.1:${port}": EADDRINUSE: address already in use`,
      's',
    ),
  );
  assert.doesNotMatch(r.stderr, /an older line/, 'only what this start logged');
});

test('--uid nobody with 2 workers: the primary and both workers run as nobody; a reload cannot bind a port below 1024 and says why', {
  skip: !isRoot && 'needs root',
}, async () => {
  const port = await freeLowPort();
  const dir = openDir('drop-workers');
  const file = join(dir, 'router.ini');
  const pidfile = join(dir, 'p.pid');
  const base = [
    '[uwsgi]',
    `http = 127.0.0.1:${port}`,
    `http-to = ${app.address}`,
    'http-processes = 2',
    'uid = nobody',
    'gid = nogroup',
    `pidfile = ${pidfile}`,
  ];
  writeFileSync(file, `${base.join('\n')}\n`);
  const r = await startUwrouter(['--ini', file], { readyPattern: /generation 1 serving/ });
  const workers = await workersOf(r.pid, 2);
  for (const pid of [r.pid, ...workers]) {
    const who = pid === r.pid ? `primary ${pid}` : `worker ${pid}`;
    assert.equal(statusIds(pid, 'Uid'), '65534 65534 65534 65534', who);
    assert.equal(statusIds(pid, 'Gid'), '65534 65534 65534 65534', who);
    assert.equal(statusIds(pid, 'Groups'), '65534', who);
  }
  for (const w of workers) {
    const text = await throughWorker(
      w,
      workers,
      async () => (await httpGet(`http://127.0.0.1:${port}/`)).text,
    );
    assert.equal(text, 'app says hi', `worker ${w} serves on the port bound before the drop`);
  }
  assert.equal(await pidIn(pidfile), `${r.pid}\n`, 'the pidfile holds the primary');
  // a second port below 1024 in a reload: nobody cannot bind it; the running configuration stays
  const second = await freeLowPort();
  writeFileSync(file, `${[...base, `http = 127.0.0.1:${second}`].join('\n')}\n`);
  process.kill(r.pid, 'SIGHUP');
  const line = await pollUntil(
    'the reload failure',
    () => /reload failed, still running the previous configuration: .*EACCES.*/.exec(r.logs())?.[0],
  );
  assert.match(
    line,
    /\(uwrouter runs as uid 65534 since its start: a reload cannot bind a privileged port or open a root-only file; restart it to do so\)/,
  );
  assert.deepEqual(childPids(r.pid).sort(), [...workers].sort(), 'the same workers go on');
  assert.equal((await httpGet(`http://127.0.0.1:${port}/`)).text, 'app says hi');
  assert.deepEqual(await r.stop('SIGTERM'), { code: 0, signal: null });
  assert.equal(existsSync(pidfile), false);
});

test('--logto and --req-logger with 2 workers: every worker writes both files; SIGUSR2 to the primary reopens them in each', async () => {
  const dir = tmpDir('logto-workers');
  const log = join(dir, 'uwrouter.log');
  const requests = join(dir, 'requests.log');
  const port = await freePort();
  const r = await startUwrouter([
    ...['--http', `127.0.0.1:${port}`, '--http-to', app.address, '--http-processes', '2'],
    ...['--logto', log, '--req-logger', `file:${requests}`],
  ]);
  await pollUntil('the serving line in the file', logged(log, /generation 1 serving/));
  const workers = await workersOf(r.pid, 2);
  const requestThrough = async (w: number, file: string, path: string) => {
    const text = await throughWorker(
      w,
      workers,
      async () => (await httpGet(`http://127.0.0.1:${port}${path}`)).text,
    );
    assert.equal(text, 'app says hi');
    await pollUntil(
      `worker ${w}'s line for ${path} in ${file}`,
      logged(file, new RegExp(`\\[pid: ${w}\\|.* GET ${path} `)),
    );
  };
  for (const w of workers) await requestThrough(w, requests, `/before-${w}`);
  renameSync(log, `${log}.1`);
  renameSync(requests, `${requests}.1`);
  process.kill(r.pid, 'SIGUSR2');
  await pollUntil(
    'the primary reopened',
    logged(log, new RegExp(`SIGUSR2 received: reopened log file ${log}`)),
  );
  for (const w of workers) {
    await pollUntil(
      `worker ${w} reopened both`,
      logged(
        log,
        new RegExp(`SIGUSR2 received by worker ${w}: reopened log file ${log}, request log .*requests\\.log`),
      ),
    );
  }
  const old = [readFileSync(`${log}.1`, 'utf8'), readFileSync(`${requests}.1`, 'utf8')];
  for (const w of workers) await requestThrough(w, requests, `/after-${w}`);
  process.kill(r.pid, 'SIGUSR1');
  await pollUntil('a stats line in the new log file', logged(log, /SIGUSR1 stats: http /));
  assert.deepEqual(
    [readFileSync(`${log}.1`, 'utf8'), readFileSync(`${requests}.1`, 'utf8')],
    old,
    'nothing after the reopen went to the renamed files',
  );
  assert.doesNotMatch(r.logs(), /GET \/|bound on/, 'nothing on stderr');
  assert.deepEqual(await r.stop('SIGTERM'), { code: 0, signal: null });
});

test('--logto with --log-requests and 2 workers: request lines go to the log file (as uWSGI), also after SIGUSR2 reopens it', async () => {
  const dir = tmpDir('logto-requests');
  const log = join(dir, 'uwrouter.log');
  const port = await freePort();
  const r = await startUwrouter([
    ...['--http', `127.0.0.1:${port}`, '--http-to', app.address, '--http-processes', '2'],
    ...['--logto', log, '--log-requests'],
  ]);
  await pollUntil('the serving line in the file', logged(log, /generation 1 serving/));
  const workers = await workersOf(r.pid, 2);
  const requestThrough = async (w: number, path: string) => {
    const text = await throughWorker(
      w,
      workers,
      async () => (await httpGet(`http://127.0.0.1:${port}${path}`)).text,
    );
    assert.equal(text, 'app says hi');
    await pollUntil(
      `worker ${w}'s line for ${path} in the log file`,
      logged(log, new RegExp(`\\[pid: ${w}\\|.* GET ${path} => generated .*\\(HTTP/1\\.1 200\\)`)),
    );
  };
  for (const w of workers) await requestThrough(w, `/before-${w}`);
  renameSync(log, `${log}.1`);
  process.kill(r.pid, 'SIGUSR2');
  for (const w of workers)
    await pollUntil(
      `worker ${w} reopened`,
      logged(log, new RegExp(`SIGUSR2 received by worker ${w}: reopened log file`)),
    );
  const old = readFileSync(`${log}.1`, 'utf8');
  for (const w of workers) await requestThrough(w, `/after-${w}`);
  assert.equal(readFileSync(`${log}.1`, 'utf8'), old, 'nothing after the reopen went to the renamed file');
  assert.doesNotMatch(old, /GET \/after-/);
  assert.doesNotMatch(r.logs(), /GET \//, 'no request line on stderr');
  assert.deepEqual(await r.stop('SIGTERM'), { code: 0, signal: null });
});

test('--daemonize with 2 workers: the command returns once both workers serve', async () => {
  const dir = openDir('daemon-workers');
  const log = join(dir, 'd.log');
  const pidfile = join(dir, 'd.pid');
  const port = await freePort();
  const started = spawnSync(
    process.execPath,
    [
      uwrouterEntry('src'),
      ...['--http', `127.0.0.1:${port}`, '--http-to', app.address, '--http-processes', '2'],
      ...['--daemonize', log, '--pidfile', pidfile],
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(started.status, 0, started.stderr);
  const pid = Number(readFileSync(pidfile, 'utf8'));
  daemons.push(pid);
  // no waiting: the workers serve when the command has returned
  const workers = childPids(pid);
  daemons.push(...workers);
  assert.equal(workers.length, 2, `workers of ${pid}: ${workers}`);
  assert.match(readFileSync(log, 'utf8'), /generation 1 serving: uWSGI http ×2/);
  for (const w of workers) {
    const text = await throughWorker(
      w,
      workers,
      async () => (await httpGet(`http://127.0.0.1:${port}/`)).text,
    );
    assert.equal(text, 'app says hi', `worker ${w}`);
  }
  assert.equal(Number(procStat(pid)?.[3]), pid, 'the primary leads a new session');
  process.kill(pid, 'SIGTERM');
  await pollUntil('the daemon and its workers stop', () =>
    [pid, ...workers].every((p) => isProcessGone(p)) ? true : undefined,
  );
  assert.equal(existsSync(pidfile), false);
});
