import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { LogOutput } from '../../src/logger.ts';
import { ProcessSetup, processFileSettingsFromConfig } from '../../src/process/setup.ts';

const dir = mkdtempSync(join(tmpdir(), 'uwr-setup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const settings = (args: string[]) =>
  processFileSettingsFromConfig(loadConfig(['--http', ':0', ...args], {}).config);

function log(): { lines: string[]; info(m: string): void; warn(m: string): void } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warn ${m}`) };
}

test('the options as read: daemonize logs like logto; daemonize2 is the same', () => {
  assert.deepEqual(settings([]), { privileges: {} });
  assert.deepEqual(settings(['--daemonize', '/var/log/u.log']), {
    privileges: {},
    daemonize: '/var/log/u.log',
    logto: '/var/log/u.log',
  });
  // relative paths are resolved now (before --chdir), where uWSGI uses them; pidfile2 after --chdir
  assert.deepEqual(
    settings(['--daemonize2', 'u.log', '--logto', 'u.log', '--pidfile', 'a', '--pidfile2', 'b']),
    {
      privileges: {},
      daemonize: join(process.cwd(), 'u.log'),
      logto: join(process.cwd(), 'u.log'),
      pidfile: join(process.cwd(), 'a'),
      pidfile2: 'b',
    },
  );
});

test('contradictions and forms uwrouter cannot honour are refused', () => {
  assert.throws(
    () => settings(['--daemonize', 'a.log', '--logto', 'b.log']),
    /options "--daemonize a\.log" and "--logto b\.log" name two log files/,
  );
  assert.throws(
    () => settings(['--daemonize', 'a.log', '--daemonize2', 'b.log']),
    /name two log files; give one/,
  );
  assert.throws(() => settings(['--pidfile', 'p', '--pidfile2', 'p']), /name the same file "p"/);
  assert.throws(
    () => settings(['--logto', '127.0.0.1:514']),
    /option "--logto": "127\.0\.0\.1:514" is uWSGI's UDP log form \(HOST:PORT\), which uwrouter does not implement/,
  );
  assert.equal(settings(['--logto', './odd:name.log']).logto, join(process.cwd(), 'odd:name.log'));
  assert.throws(() => settings(['--uid', 'nobdy']), /option "--uid": there is no user named "nobdy"/);
});

test('--logto2 takes over from the start log after the drop, saying so in the first file', async () => {
  const first = join(dir, 'first.log');
  const second = join(dir, 'second.log');
  const output = new LogOutput({ write() {} });
  const s = new ProcessSetup({ privileges: {}, logto: first, logto2: second }, output);
  s.openStartLog();
  output.write('before the drop\n');
  const l = log();
  const logLine = {
    info: (m: string) => {
      l.info(m);
      output.write(`${m}\n`);
    },
    warn: (m: string) => output.write(`${m}\n`),
  };
  s.afterListenersBound(logLine);
  output.write('after the drop\n');
  await new Promise((r) => setTimeout(r, 100));
  assert.match(
    readFileSync(first, 'utf8'),
    /^before the drop\n(.*\n)?\[uwrouter\] logging to .*second\.log from now on \(--logto2\)\n$/,
  );
  assert.equal(readFileSync(second, 'utf8'), 'after the drop\n');
});
