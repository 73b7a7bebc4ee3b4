/**
 * The uwrouter command as a process: signals, error output, refusals. Each runs
 * `node src/cli.ts` through the interop harness (loopback, free ports, always cleaned up).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  childPids,
  freePort,
  httpGet,
  pollUntil,
  REPO_ROOT,
  type ServerHandle,
  startUwrouter,
  uwrouterEntry,
} from './interop/harness/index.ts';

/** A plain HTTP app the HTTP router forwards to (`http://` node). */
async function httpApp(): Promise<{ server: Server; address: string }> {
  const server = createServer((_req, res) => res.end('app says hi'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return { server, address: `http://127.0.0.1:${port}` };
}

const app = await httpApp();
after(() => app.server.close());

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function serves(router: ServerHandle): Promise<void> {
  const r = await httpGet(`http://127.0.0.1:${router.port}/`);
  assert.equal(r.status, 200);
  assert.equal(r.text, 'app says hi');
}

async function startHttpRouter(extra: string[] = [], nodeArgs: string[] = []): Promise<ServerHandle> {
  const port = await freePort();
  return startUwrouter(['--http', `127.0.0.1:${port}`, '--http-to', app.address, ...extra], { nodeArgs });
}

/** Run the command to completion (it must fail fast): exit code and stderr. */
function runToExit(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [uwrouterEntry('src'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr };
}

test('SIGUSR1 logs one stats line per router and never opens the inspector', async () => {
  // the inspector would listen here (not 9229, which another process may hold)
  const inspectorPort = await freePort();
  const router = await startHttpRouter([], [`--inspect-port=127.0.0.1:${inspectorPort}`]);
  await serves(router);
  process.kill(router.pid, 'SIGUSR1');
  await pollUntil('the stats line', () => (/SIGUSR1 stats: http /.test(router.logs()) ? true : undefined), {
    timeoutMs: 5000,
  });
  assert.match(
    router.logs(),
    /\[uwrouter\] SIGUSR1 stats: http pid \d+ on [^:]+:\d+: \d+ active sessions, 1 requests sent to nodes, 1 nodes \(1 static, 0 subscribed under 0 keys\), errors: none/,
  );
  // a worker takes over SIGUSR1 too: it logs its own line, no inspector opens
  const worker = childPids(router.pid)[0];
  assert.ok(worker, 'the router runs a worker');
  process.kill(worker, 'SIGUSR1');
  await pollUntil('the worker’s line', () =>
    /SIGUSR1 stats: http pid \d+ on [^:]+:\d+: /.test(
      router
        .logs()
        .split('\n')
        .filter((l) => l.includes(`pid ${worker} `))
        .join('\n'),
    )
      ? true
      : undefined,
  );
  await sleep(300);
  assert.equal(await canConnect(inspectorPort), false, 'the inspector must not listen');
  assert.doesNotMatch(router.logs(), /Debugger listening/);
  assert.ok(router.isRunning());
  await serves(router);
  assert.deepEqual(await router.stop('SIGTERM'), { code: 0, signal: null });
});

test('SIGHUP reloads and SIGUSR2 is one line: neither kills the router, which keeps serving', async () => {
  const router = await startHttpRouter();
  process.kill(router.pid, 'SIGHUP');
  process.kill(router.pid, 'SIGUSR2');
  const logged = (re: RegExp) => () => (re.test(router.logs()) ? true : undefined);
  await pollUntil('the SIGHUP line', logged(/SIGHUP received: reloading the configuration/));
  await pollUntil('the reload', logged(/generation 2 serving: uWSGI http ×1/), { timeoutMs: 20_000 });
  await pollUntil('the SIGUSR2 line', logged(/SIGUSR2 received: nothing to do \(no log file to reopen;/));
  assert.ok(router.isRunning(), router.logs());
  await serves(router);
  assert.deepEqual(await router.stop('SIGINT'), { code: 0, signal: null });
});

/** The request lines of a file (none yet: []). */
function fileLines(path: string): string[] {
  try {
    return readFileSync(path, 'latin1')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

test('--req-logger file:PATH: a line per request in the file, reopened on SIGHUP and SIGUSR2 (logrotate)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'uwr-cli-reqlog-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'requests.log');
  const router = await startHttpRouter(['--req-logger', `file:${path}`]);
  const served = async (file: string, n: number): Promise<void> => {
    await serves(router);
    await pollUntil(`${n} line(s) in ${file}`, () => (fileLines(file).length === n ? true : undefined));
  };
  await served(path, 1);
  assert.equal(statSync(path).mode & 0o777, 0o640);
  const logged = (re: RegExp) => () => (re.test(router.logs()) ? true : undefined);
  renameSync(path, `${path}.1`);
  process.kill(router.pid, 'SIGHUP');
  // the primary reopens its copy for the workers it starts next and tells the running ones,
  // then reloads
  await pollUntil('the SIGHUP lines', () =>
    /SIGHUP received by worker \d+: reopened request log \S+requests\.log/.test(router.logs()) &&
    /generation 2 serving/.test(router.logs())
      ? true
      : undefined,
  );
  await served(path, 1);
  renameSync(path, `${path}.2`);
  process.kill(router.pid, 'SIGUSR2');
  await pollUntil(
    'the SIGUSR2 line',
    logged(/SIGUSR2 received by worker \d+: reopened request log \S+requests\.log/),
  );
  await served(path, 1);
  for (const f of [`${path}.1`, `${path}.2`, path]) {
    const lines = fileLines(f);
    assert.equal(lines.length, 1, f);
    assert.match(
      lines[0],
      /\] GET \/ => generated \d+ bytes in \d+ msecs \(HTTP\/1\.1 200\) key: 127\.0\.0\.1:\d+ node: http:\/\/127\.0\.0\.1:\d+ router: http /,
    );
  }
  // the request lines are not in the process log
  assert.doesNotMatch(router.logs(), /=> generated/);
  assert.deepEqual(await router.stop('SIGINT'), { code: 0, signal: null });
});

test('--log-requests writes the request lines to stderr; JSON with --log-format json', async () => {
  const router = await startHttpRouter(['--log-requests', '--log-format', 'json']);
  await serves(router);
  const line = await pollUntil('the request line', () =>
    router
      .logs()
      .split('\n')
      .find((l) => l.includes('"kind":"request"')),
  );
  const r = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual([r.router, r.method, r.uri, r.status, r.node], ['http', 'GET', '/', 200, app.address]);
  assert.deepEqual(await router.stop('SIGINT'), { code: 0, signal: null });
});

test("--log-date puts uWSGI's ctime prefix on plain lines", async () => {
  const router = await startHttpRouter(['--log-date']);
  await pollUntil('the bound line', () => (/bound on/.test(router.logs()) ? true : undefined));
  assert.match(
    router.logs(),
    /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} - uWSGI http bound on 127\.0\.0\.1:\d+ fd \d+$/m,
  );
  await router.stop();
});

test('an option error prints the --help hint once', () => {
  for (const args of [
    ['--wsgi-file', 'app.py'],
    ['--fastroter', ':1'],
  ]) {
    const r = runToExit(args);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.split('--help').length - 1, 1, r.stderr);
  }
});

test('start-up errors name what is wrong: port out of range, HTTPS, no listener', () => {
  let r = runToExit(['--fastrouter', '127.0.0.1:99999', '--fastrouter-to', '127.0.0.1:1']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /port 99999 is out of range \(0-65535\)/);
  r = runToExit(['--https', '127.0.0.1:0,/nonexistent/a.crt,a.key']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--https 127\.0\.0\.1:0: \/nonexistent\/a\.crt: /);
  r = runToExit(['--http-keepalive']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /"--http-keepalive" configures the HTTP router, which has no listener here/);
  r = runToExit(['--master']);
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /nothing to run: .* give one of --fastrouter ADDR, --rawrouter ADDR, --sslrouter ADDR,CRT,KEY.*, --http ADDR/,
  );
});

test('NODE_OPTIONS opening the inspector: refused as root, a warning otherwise', async () => {
  const port = await freePort();
  const root = process.getuid?.() === 0;
  const router = await startUwrouter(['--http', `127.0.0.1:${port}`, '--http-to', app.address], {
    env: { NODE_OPTIONS: '--inspect=127.0.0.1:0' },
    readyPattern: root ? /refusing to run as root/ : /bound on/,
  }).catch((e: unknown) => e);
  if (root) {
    assert.ok(!(router instanceof Error), String(router));
    const info = await (router as ServerHandle).exited;
    assert.equal(info.code, 2);
    assert.match((router as ServerHandle).logs(), /--inspect \(NODE_OPTIONS\) opens the inspector/);
    assert.equal(await canConnect(port), false, 'nothing was bound');
  } else {
    assert.match((router as ServerHandle).logs(), /warning: --inspect \(NODE_OPTIONS\) opens the inspector/);
    await (router as ServerHandle).stop();
  }
});

test('--log-date values: true = ctime, false = off, a strftime format, a bad format refused', async () => {
  const { processSettingsFromConfig } = await import('../src/main.ts');
  const { loadConfig } = await import('../src/config/index.ts');
  const dateOf = (args: string[]) => processSettingsFromConfig(loadConfig(args, {}).config).logDate;
  assert.equal(dateOf([]), undefined);
  assert.equal(dateOf(['--log-date']), '');
  assert.equal(dateOf(['--log-date=true']), '', 'uWSGI: true/1/on/yes mean the default format');
  assert.equal(dateOf(['--log-date=off']), undefined);
  assert.equal(dateOf(['--log-date=%Y-%m-%d %H:%M:%S']), '%Y-%m-%d %H:%M:%S');
  const r = runToExit(['--log-date=%Q', '--fastrouter', '127.0.0.1:0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /option "--log-date": "%Q": "%Q" is not supported/);
});
