import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { test } from 'node:test';
import { loadConfig, OPTIONS, renderHelp, renderOptionsMarkdown } from '../../src/config/index.ts';
import { applyOptionStatuses, checkOptionStatuses } from '../../src/config/status.ts';
import { ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { startRouters } from '../../src/start.ts';

function check(args: string[]): { refused: string[]; warnings: string[] } {
  return checkOptionStatuses(loadConfig(args, {}).config);
}

function startError(args: string[]): Promise<string> {
  return startRouters(loadConfig(args, {}).config, silentLogger(), 'test').then(
    async (r) => {
      await r.close();
      assert.fail(`started with ${args.join(' ')}`);
    },
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      return e.message;
    },
  );
}

test('identity and process-management options are refused at start-up until they work', () => {
  const other = userInfo().username === 'nobody' ? 'daemon' : 'nobody';
  for (const [option, value] of [
    ['uid', other],
    ['gid', '4242'],
    ['chroot', '/srv/jail'],
    ['pidfile', '/run/uwrouter.pid'],
    ['pidfile2', '/run/uwrouter.pid'],
    ['daemonize', '/var/log/uwrouter.log'],
    ['fastrouter-uid', other],
    ['http-gid', '4242'],
  ]) {
    const r = check(['--fastrouter', ':0', '--http', ':0', `--${option}`, value]);
    assert.equal(r.refused.length, 1, option);
    assert.match(r.refused[0], new RegExp(`^option "--${option}": not implemented yet: start uwrouter as`));
  }
});

test('uid/gid naming the identity the process already has are satisfied, not refused', () => {
  const uid = String(process.getuid?.());
  const gid = String(process.getgid?.());
  const r = check([
    '--fastrouter',
    ':0',
    '--uid',
    uid,
    '--gid',
    gid,
    '--fastrouter-uid',
    userInfo().username,
  ]);
  assert.deepEqual(r.refused, []);
});

test('options of a router without a listener are refused naming the listener', () => {
  let r = check(['--fastrouter', ':0', '--rawrouter-to', '127.0.0.1:1']);
  assert.deepEqual(r.refused, [
    'option "--rawrouter-to" configures the rawrouter, which has no listener here (give --rawrouter)',
  ]);
  r = check(['--fastrouter', ':0', '--sslrouter-to', '127.0.0.1:1']);
  assert.deepEqual(r.refused, [
    'option "--sslrouter-to" configures the sslrouter, which has no listener here (the sslrouter is not implemented yet)',
  ]);
  r = check(['--fastrouter', ':0', '--http-keepalive', '--http-websockets']);
  assert.deepEqual(r.refused, [
    'option "--http-keepalive" configures the HTTP router, which has no listener here (give --http or --http-to-https)',
    'option "--http-websockets" configures the HTTP router, which has no listener here (give --http or --http-to-https)',
  ]);
  r = check(['--http', ':0', '--fastrouter-to', '127.0.0.1:1']);
  assert.match(r.refused[0], /"--fastrouter-to" configures the fastrouter, .*\(give --fastrouter\)/);
  // off or default values ask for nothing
  assert.deepEqual(
    check(['--fastrouter', ':0', '--http-keepalive', 'false', '--http-timeout', '60']).refused,
    [],
  );
});

test('not-implemented listeners and features are refused, each named, all at once', async () => {
  assert.deepEqual(check(['--https', ':8443,a.crt,a.key']).refused, [
    'option "--https": HTTPS listeners are not implemented yet in uwrouter (they come with TLS support)',
  ]);
  const msg = await startError([
    '--fastrouter',
    ':0',
    '--sslrouter',
    ':0,a.crt,a.key',
    '--start-unsubscribed',
    '--subscriptions-use-credentials',
    '--fastrouter-use-cache',
    '--cache2',
    'name=x,items=10',
  ]);
  assert.match(msg, /^5 options cannot be honoured:\n/);
  for (const o of [
    'sslrouter',
    'fastrouter-use-cache',
    'cache2',
    'start-unsubscribed',
    'subscriptions-use-credentials',
  ]) {
    assert.match(msg, new RegExp(`\\n  option "--${o}": `), o);
  }
});

test('accepted-with-a-warning options log one line each when set, none at their default', () => {
  const r = check([
    '--fastrouter',
    ':0',
    '--http',
    ':0',
    '--fastrouter-processes',
    '4',
    '--http-harakiri',
    '30',
    '--fastrouter-post-buffering',
    '8192',
    '--ssl-verbose',
    '--auto-weight',
  ]);
  assert.deepEqual(r.refused, []);
  assert.deepEqual(r.warnings, [
    '[uwrouter] --fastrouter-post-buffering: not implemented; request bodies are streamed to the node',
    '[uwrouter] --auto-weight: uwrouter has no workers to count: it announces --weight (0 counts as 1)',
    '[uwrouter] --ssl-verbose: no effect until TLS listeners exist in uwrouter',
  ]);
  const quiet = check(['--fastrouter', ':0', '--fastrouter-processes', '1', '--fastrouter-harakiri', '0']);
  assert.deepEqual(quiet, { refused: [], warnings: [] });
  const lines: string[] = [];
  applyOptionStatuses(loadConfig(['--fastrouter', ':0', '--fastrouter-post-buffering', '8192'], {}).config, {
    warn: (m) => lines.push(m),
  });
  assert.equal(lines.length, 1);
});

test('no listener at all: the message lists the listener options that can run', async () => {
  assert.equal(
    await startError([]),
    'nothing to run: no router listener is configured; give one of --fastrouter ADDR, --rawrouter ADDR, --http ADDR, --http-to-https ADDR[,PORT] (on the command line or in an ini file)',
  );
});

test('--help and the README table mark every option that is not implemented', () => {
  const help = renderHelp();
  const md = renderOptionsMarkdown();
  assert.match(help, /--uid USER\n\s+run as this user .*\[refused at start-up: not implemented yet/);
  assert.match(
    help,
    /--sslrouter ADDR,CRT,KEY\[,CIPHERS\[,CLIENT_CA\]\]\n(.*\n)*?\s+.*\[refused at start-up: the sslrouter is not implemented/,
  );
  assert.match(md, /\| `--https` \|.*\[refused at start-up: HTTPS listeners are not implemented yet/);
  assert.match(md, /\| `--master` \|.*\[no effect: uwrouter always runs a primary process/);
  assert.match(
    md,
    /\| `--fastrouter-post-buffering` \|.*\[accepted with a warning at start-up: not implemented/,
  );
  for (const o of OPTIONS) {
    if (o.status === undefined || o.status === 'implemented') continue;
    const row = md.split('\n').find((l) => l.startsWith(`| \`--${o.name}\` |`));
    assert.ok(row?.includes('['), o.name);
  }
});

test('subscription settings without a server, or announce settings without a target, warn', () => {
  assert.deepEqual(
    check(['--fastrouter', ':0', '--subscription-algo', 'lrc', '--subscribe-freq', '5']).warnings,
    [
      '[uwrouter] --subscription-algo: no effect: no subscription server is configured (--fastrouter-subscription-server, --http-subscription-server)',
      '[uwrouter] --subscribe-freq: no effect: nothing is announced (no --subscribe-to or --subscribe2)',
    ],
  );
  const used = check([
    '--fastrouter',
    ':0',
    '--fastrouter-subscription-server',
    ':0',
    '--subscription-algo',
    'lrc',
    '--subscribe-to',
    '127.0.0.1:1:k',
    '--subscribe-freq',
    '5',
  ]);
  assert.deepEqual(used.warnings, []);
});
