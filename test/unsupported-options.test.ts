import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { ConfigError } from '../src/errors.ts';
import { silentLogger } from '../src/logger.ts';
import { checkUnsupportedOptions } from '../src/unsupported-options.ts';

function check(args: string[]): string[] {
  const { config } = loadConfig(args, {});
  const lines: string[] = [];
  const log = silentLogger();
  log.warn = ((m: string) => {
    lines.push(m);
  }) as typeof log.warn;
  checkUnsupportedOptions(config, log);
  return lines;
}

test('routers that do not exist yet and zerg are start-up errors, not ports that never open', () => {
  for (const args of [
    ['--sslrouter', ':1,a.crt,a.key'],
    ['--http-zerg', '/tmp/z'],
  ]) {
    assert.throws(() => check(args), ConfigError, args.join(' '));
  }
});

test('options accepted without effect each get one warning line', () => {
  const lines = check([
    '--fastrouter-processes',
    '4',
    '--http-harakiri',
    '30',
    '--fastrouter-uid',
    'www-data',
    '--fastrouter-post-buffering',
    '8192',
    '--ssl-verbose',
  ]);
  assert.equal(lines.length, 5);
  assert.ok(lines[0].includes('--fastrouter-processes 4'));
  assert.ok(lines.some((l) => l.includes('--http-harakiri')));
  assert.deepEqual(check(['--fastrouter-processes', '1', '--http-harakiri', '0']), []);
});
