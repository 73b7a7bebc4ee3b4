import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { ctime, logDatePrefix, strftime, strftimeProblem } from '../src/log-time.ts';
import { connectionLogFields, createLogger } from '../src/logger.ts';

const savedTz = process.env.TZ;
after(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

/** GNU date(1) formats with the C library's strftime: the reference. */
function dateCommand(epoch: number, format: string, tz: string): string {
  return execFileSync('date', ['-d', `@${epoch}`, `+${format}`], { env: { ...process.env, TZ: tz } })
    .toString()
    .replace(/\n$/, '');
}

test('--log-date formats: ctime and every supported strftime conversion, as the C library does', () => {
  // a zone with an offset and DST, and a day of month < 10 (ctime pads it with a space)
  const tz = 'America/New_York';
  process.env.TZ = tz;
  for (const epoch of [1795240238, 1783000000, 946684799]) {
    const d = new Date(epoch * 1000);
    assert.equal(ctime(d), dateCommand(epoch, '%a %b %e %H:%M:%S %Y', tz), `ctime ${epoch}`);
    const all = '%a|%A|%b|%h|%B|%d|%e|%H|%I|%j|%m|%M|%p|%S|%s|%y|%Y|%z|%F|%T|%R|%D|%%';
    assert.equal(strftime(all, d), dateCommand(epoch, all, tz), `strftime ${epoch}`);
  }
  assert.equal(strftimeProblem('%Y-%m-%d %H:%M:%S'), undefined);
  assert.match(strftimeProblem('%Y %Q') ?? '', /"%Q" is not supported/);
  assert.match(strftimeProblem('100%') ?? '', /lone "%"/);
});

test('plain lines carry the --log-date prefix, written directly to the writer', () => {
  process.env.TZ = 'UTC';
  const lines: string[] = [];
  const log = createLogger('uwsgi', 'info', { date: '', write: (t) => lines.push(t) });
  log.info('uWSGI fastrouter bound on 127.0.0.1:3017 fd 3');
  log.warn({ code: 'UWR_ERR_CONNECT', key: 'k' }, 'unable to connect() to node "%s"', '127.0.0.1:1');
  log.debug('not at info level');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} - uWSGI fastrouter bound on/,
  );
  assert.match(lines[1], / - unable to connect\(\) to node "127\.0\.0\.1:1"\n$/);
  const fixed = logDatePrefix('%Y-%m-%d %H:%M:%S', () => 1795240238_000);
  assert.equal(fixed(), '2026-11-21 05:50:38 - ');
  const plain: string[] = [];
  createLogger('uwsgi', 'info', { write: (t) => plain.push(t) }).info('no date');
  assert.deepEqual(plain, ['no date\n']);
});

test('JSON lines carry code, key, node, client_addr and client_port as their own fields', () => {
  const out: string[] = [];
  const log = createLogger('json', 'info', { stream: { write: (s: string) => out.push(s) } });
  log.warn(
    connectionLogFields(
      'UWR_ERR_CONNECT',
      { address: '10.0.0.7', port: 51334 },
      'example.com',
      '127.0.0.1:3031',
    ),
    '[uwsgi-fastrouter] unable to connect() to node "127.0.0.1:3031" (0 retries): Connection refused',
  );
  log.info(connectionLogFields('UWR_ERR_TIMEOUT', { address: '::1', port: 2 }), 'timeout');
  const [a, b] = out.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(a.code, 'UWR_ERR_CONNECT');
  assert.equal(a.key, 'example.com');
  assert.equal(a.node, '127.0.0.1:3031');
  assert.equal(a.client_addr, '10.0.0.7');
  assert.equal(a.client_port, 51334);
  assert.equal(a.level, 40);
  assert.equal(typeof a.time, 'number');
  assert.ok(!('key' in b) && !('node' in b), 'absent key/node are left out');
  assert.equal(b.client_addr, '::1');
});

test('every line logged before process.exit() reaches stderr, in both formats', () => {
  for (const format of ['uwsgi', 'json']) {
    const script = `
      const { createLogger } = await import(${JSON.stringify(new URL('../src/logger.ts', import.meta.url).href)});
      const log = createLogger(${JSON.stringify(format)}, 'info');
      for (let i = 0; i < 3000; i++) log.info("line " + i + " " + "x".repeat(100));
      process.exit(0);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(r.status, 0, r.stderr.slice(-500));
    const lines = r.stderr.split('\n').filter((l) => l.includes('line '));
    assert.equal(lines.length, 3000, format);
    assert.ok(lines[2999].includes('line 2999 '), format);
  }
});
