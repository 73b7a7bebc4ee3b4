import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig, parseIni, splitIniArgument } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'uwrouter-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeIni(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('expected a ConfigError');
}

const ROUTER_INI = `; a fastrouter in front of two nodes
# hash comments too
[uwsgi]
master = true
fastrouter = 127.0.0.1:3017
fastrouter-to = 127.0.0.1:3031

  fastrouter-to   =   127.0.0.1:3032   
fastrouter-cheap
fastrouter-timeout = 7
http-keepalive = true

[other]
fastrouter = 127.0.0.1:4017
fastrouter-timeout = 8

[uwsgi]
fastrouter-to = 127.0.0.1:3033
`;

test('ini: repeated keys, comments, blank lines, bare keys, split sections', () => {
  const file = writeIni('router.ini', ROUTER_INI);
  const { config: c, sources } = loadConfig(['--ini', file], {});
  assert.deepEqual(c.all('fastrouter'), ['127.0.0.1:3017']);
  assert.deepEqual(c.all('fastrouter-to'), ['127.0.0.1:3031', '127.0.0.1:3032', '127.0.0.1:3033']);
  assert.equal(c.flag('fastrouter-cheap'), true);
  assert.equal(c.int('fastrouter-timeout'), 7);
  assert.equal(c.int('http-keepalive'), 1, 'uwsgi-docs #445: true means on');
  assert.equal(c.flag('master'), true);
  assert.deepEqual(sources, [file]);
  assert.deepEqual(c.all('ini'), [file]);
});

test('ini: FILE.ini:section and positional FILE.ini', () => {
  const file = writeIni('sections.ini', ROUTER_INI);
  let r = loadConfig([`${file}:other`], {});
  assert.deepEqual(r.config.all('fastrouter'), ['127.0.0.1:4017']);
  assert.equal(r.config.int('fastrouter-timeout'), 8);
  assert.deepEqual(r.sources, [`${file}:other`]);
  r = loadConfig(['sections.ini'], {}, { cwd: dir });
  assert.deepEqual(r.config.all('fastrouter'), ['127.0.0.1:3017']);
  assert.deepEqual(r.sources, [file]);
  r = loadConfig(['--ini', 'sections.ini:other'], {}, { cwd: dir });
  assert.equal(r.config.int('fastrouter-timeout'), 8);
  assert.match(
    errorOf(() => loadConfig([`${file}:nope`], {})),
    /has no \[nope\] section/,
  );
  assert.match(
    errorOf(() => loadConfig(['--ini', join(dir, 'missing.ini')], {})),
    /^cannot read ini file ".*missing\.ini": ENOENT$/,
  );
});

test('ini: options are inserted at the position of --ini', () => {
  const file = writeIni('order.ini', '[uwsgi]\nfastrouter-to = B\nfastrouter-timeout = 7\n');
  const c = loadConfig(
    ['--fastrouter-to', 'A', '--fastrouter-timeout', '1', '--ini', file, '--fastrouter-to', 'C'],
    { UWSGI_FASTROUTER_TO: 'E' },
  ).config;
  assert.deepEqual(c.all('fastrouter-to'), ['E', 'A', 'B', 'C']);
  assert.equal(c.int('fastrouter-timeout'), 7, 'the ini comes after --fastrouter-timeout 1');
  const c2 = loadConfig(['--ini', file, '--fastrouter-timeout', '1'], {}).config;
  assert.equal(c2.int('fastrouter-timeout'), 1);
});

test('ini: UWSGI_INI from the environment and ini including ini', () => {
  const sub = join(dir, 'sub');
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, 'inner.ini'), '[uwsgi]\nfastrouter-to = inner\n');
  const outer = writeIni('outer.ini', `[uwsgi]\nfastrouter-to = outer\nini = %dsub${sep}inner.ini\n`);
  const r = loadConfig([], { UWSGI_INI: outer });
  assert.deepEqual(r.config.all('fastrouter-to'), ['outer', 'inner']);
  assert.deepEqual(r.sources, [outer, join(sub, 'inner.ini')]);
  const loop = writeIni('loop.ini', `[uwsgi]\nini = %p\n`);
  assert.match(
    errorOf(() => loadConfig([loop], {})),
    /include each other more than 16 deep/,
  );
});

test('ini: %d, %p, %n, %c magic variables; %s and %% kept for mapper patterns', () => {
  const file = join(dir, 'magic.ini');
  const entries = parseIni(
    '[uwsgi]\nsocket = %dapp.sock\npidfile = %p\nprocname = %n-%c\nfastrouter-use-pattern = /tmp/%s-%%.sock\n',
    file,
    'uwsgi',
  );
  assert.ok(entries);
  assert.deepEqual(
    entries.map((e) => e.value),
    [`${dir}${sep}app.sock`, file, `magic-${dir.split(sep).pop()}`, '/tmp/%s-%%.sock'],
  );
  assert.equal(parseIni('[other]\nx = 1\n', file, 'uwsgi'), undefined);
});

test('ini: errors say file:line', () => {
  const file = writeIni('bad.ini', '[uwsgi]\n; fine\nfastrouter = :3017\nfastrouter-timeout = abc\n');
  assert.equal(
    errorOf(() => loadConfig([file], {})),
    `${file}:4: option "--fastrouter-timeout": "abc" is not a number`,
  );
  const typo = writeIni('typo.ini', '[uwsgi]\nfastroter-to = 127.0.0.1:3031\n');
  assert.equal(
    errorOf(() => loadConfig([typo], {})),
    `${typo}:2: unknown option "--fastroter-to"; did you mean "--fastrouter-to"?`,
  );
  const bareString = writeIni('bare.ini', '[uwsgi]\n\nfastrouter-to\n');
  assert.equal(
    errorOf(() => loadConfig([bareString], {})),
    `${bareString}:3: option "--fastrouter-to": needs a value (ADDR)`,
  );
  const badFlag = writeIni('flag.ini', '[uwsgi]\nhttp-websockets = sure\n');
  assert.match(
    errorOf(() => loadConfig([badFlag], {})),
    /flag\.ini:2: option "--http-websockets": "sure" is not a boolean/,
  );
  const algo = writeIni('algo.ini', '[uwsgi]\nsubscription-algo = roundrobin\n');
  assert.equal(
    errorOf(() => loadConfig([algo], {})),
    `${algo}:2: option "--subscription-algo": "roundrobin" is not one of wrr, lrc, wlrc, iphash`,
  );
});

test('ini: FILE[:SECTION] splitting', () => {
  assert.deepEqual(splitIniArgument('a.ini'), { file: 'a.ini', section: 'uwsgi' });
  assert.deepEqual(splitIniArgument('/etc/a.ini:fr'), { file: '/etc/a.ini', section: 'fr' });
  assert.deepEqual(splitIniArgument('a.ini:'), { file: 'a.ini', section: 'uwsgi' });
  assert.deepEqual(splitIniArgument('/weird:dir/a.conf'), { file: '/weird:dir/a.conf', section: 'uwsgi' });
});
