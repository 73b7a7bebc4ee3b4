import assert from 'node:assert/strict';
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

test('chroot is refused at start-up, naming why Node.js cannot do it', () => {
  const r = check(['--fastrouter', ':0', '--chroot', '/srv/jail']);
  assert.deepEqual(r.refused, [
    'option "--chroot": Node.js has no chroot(); confine uwrouter with a container or systemd (RootDirectory=, ProtectSystem=) instead',
  ]);
});

test('identity and process-file options are implemented: no refusal, no warning', () => {
  const r = check([
    ...['--fastrouter', ':0', '--http', ':0', '--uid', 'nobody', '--gid', 'nogroup'],
    ...[
      '--fastrouter-uid',
      'nobody',
      '--http-gid',
      '65534',
      '--pidfile',
      '/run/u.pid',
      '--pidfile2',
      '/run/u2.pid',
    ],
    ...[
      '--daemonize',
      '/var/log/u.log',
      '--logto2',
      '/var/log/u2.log',
      '--chmod-socket',
      '--chown-socket',
      'nobody',
    ],
    ...['--http-max-connections', '100'],
  ]);
  assert.deepEqual(r, { refused: [], warnings: [] });
});

test('options of a router without a listener are refused naming the listener', () => {
  let r = check(['--fastrouter', ':0', '--rawrouter-to', '127.0.0.1:1']);
  assert.deepEqual(r.refused, [
    'option "--rawrouter-to" configures the rawrouter, which has no listener here (give --rawrouter)',
  ]);
  r = check(['--fastrouter', ':0', '--sslrouter-to', '127.0.0.1:1']);
  assert.deepEqual(r.refused, [
    'option "--sslrouter-to" configures the sslrouter, which has no listener here (give --sslrouter or --sslrouter2)',
  ]);
  r = check(['--fastrouter', ':0', '--http-keepalive', '--http-websockets']);
  assert.deepEqual(r.refused, [
    'option "--http-keepalive" configures the HTTP router, which has no listener here (give --http or --https or --https2 or --http-to-https)',
    'option "--http-websockets" configures the HTTP router, which has no listener here (give --http or --https or --https2 or --http-to-https)',
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
  assert.deepEqual(check(['--http', ':8080', '--http-manage-rtsp']).refused, [
    'option "--http-manage-rtsp": RTSP routing is not implemented yet in uwrouter',
  ]);
  const msg = await startError([
    '--fastrouter',
    ':0',
    '--http-stud-prefix',
    '127.0.0.1',
    '--start-unsubscribed',
    '--subscriptions-use-credentials',
    '--fastrouter-use-code-string',
    '0:x.py:f',
    '--cache-sync',
    '127.0.0.1:1',
  ]);
  assert.match(msg, /^5 options cannot be honoured:\n/);
  for (const o of [
    'http-stud-prefix',
    'fastrouter-use-code-string',
    'cache-sync',
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
    '--ssl-enable3',
    '--auto-weight',
  ]);
  assert.deepEqual(r.refused, []);
  assert.deepEqual(r.warnings, [
    '[uwrouter] --auto-weight: it counts app workers (processes × cores), which a router has none of (uWSGI gateway-only instances announce 0 too): uwrouter announces --weight (0 counts as 1)',
    '[uwrouter] --ssl-enable3: no effect: the OpenSSL in Node.js has no SSLv3',
  ]);
  const quiet = check(['--fastrouter', ':0', '--fastrouter-processes', '1', '--fastrouter-harakiri', '0']);
  assert.deepEqual(quiet, { refused: [], warnings: [] });
  const lines: string[] = [];
  applyOptionStatuses(loadConfig(['--fastrouter', ':0', '--ssl-enable3'], {}).config, {
    warn: (m) => lines.push(m),
  });
  assert.equal(lines.length, 1);
});

test('no listener at all: the message lists the listener options that can run', async () => {
  assert.equal(
    await startError([]),
    'nothing to run: no router listener is configured; give one of --fastrouter ADDR, --rawrouter ADDR, --sslrouter ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]], --sslrouter2 addr=..,cert=..,key=.., --http ADDR, --https ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]], --https2 addr=..,cert=..,key=.., --http-to-https ADDR[,PORT] (on the command line or in an ini file)',
  );
});

test('--help and the README table mark every option that is not implemented', () => {
  const help = renderHelp();
  const md = renderOptionsMarkdown();
  assert.match(
    help,
    /--chroot DIR\n\s+chroot\(\) to DIR after binding \[refused at start-up: Node\.js has no chroot/,
  );
  assert.doesNotMatch(help, /--uid USER\n[^\n]*\[refused/);
  assert.doesNotMatch(help, /--https ADDR,CRT,KEY\[,CIPHERS\[,CLIENT_CA\]\]\n[^\n]*\[refused/);
  assert.match(help, /--http-manage-rtsp\n[^\n]*\[refused at\n\s+start-up: RTSP routing is not implemented/);
  assert.match(
    md,
    /\| `--http-stud-prefix` \|.*\[refused at start-up: the stud address prefix is not implemented/,
  );
  assert.match(md, /\| `--master` \|.*\[no effect: uwrouter always runs a primary process/);
  assert.match(
    md,
    /\| `--ssl-enable3` \|.*\[accepted with a warning at start-up: no effect: the OpenSSL in Node.js has no SSLv3/,
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

test('TLS settings without a TLS listener warn; with one they are silent', () => {
  assert.deepEqual(check(['--fastrouter', ':0', '--ssl-verbose', '--ssl-handshake-timeout', '5']).warnings, [
    '[uwrouter] --ssl-verbose: no effect: no TLS listener is configured (--sslrouter, --sslrouter2, --https, --https2)',
    '[uwrouter] --ssl-handshake-timeout: no effect: no TLS listener is configured (--sslrouter, --sslrouter2, --https, --https2)',
  ]);
  assert.deepEqual(
    check(['--sslrouter', ':0,a.crt,a.key', '--ssl-verbose', '--ssl-handshake-timeout', '5']),
    { refused: [], warnings: [] },
  );
});
