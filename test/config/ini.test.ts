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

test('ini: magic variables as uWSGI expands them (%d %p %s %n %e %c %x %0 %j %%), in keys too', () => {
  const file = writeIni(
    'magic.ini',
    '[uwsgi]\nsocket = %dapp.sock\nshared-socket = %p|%s|%n|%e|%c|%x|%0|%%\n' +
      'fastrouter-use-pattern = /tmp/%%s.sock\nprocname = %o\nset-ph = p%n=1\nsocket = %(pmagic)\n',
  );
  const c = loadConfig([`${file}:uwsgi`], {}).config;
  const top = dir.split(sep).filter((p) => p !== '')[0];
  assert.deepEqual(c.all('socket'), [`${dir}${sep}app.sock`, '1']);
  assert.deepEqual(c.all('shared-socket'), [
    `${file}|magic.ini|magic|ini|${dir.split(sep).pop()}|uwsgi|${top}|%`,
  ]);
  assert.equal(c.str('fastrouter-use-pattern'), '/tmp/%s.sock', "uWSGI: %%s in an ini is the mapper's %s");
  assert.equal(c.str('procname'), `${file}:uwsgi`.slice(0, file.length), '%o = the file as given');
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

test('ini: unknown keys are all reported at once, each with file:line and a suggestion', () => {
  const file = writeIni(
    'many.ini',
    '[uwsgi]\nfastroter = :3017\nfastrouter-to = 127.0.0.1:3031\nhttp-keepalve = 1\nwsgi-file = app.py\n',
  );
  assert.equal(
    errorOf(() => loadConfig([file], {})),
    `3 problems in the configuration:\n` +
      `  ${file}:2: unknown option "--fastroter"; did you mean "--fastrouter"?\n` +
      `  ${file}:4: unknown option "--http-keepalve"; did you mean "--http-keepalive"?\n` +
      `  ${file}:5: unknown option "--wsgi-file"`,
  );
});

test('ini: $(ENV), @(FILE) and %(placeholder) expand as uWSGI does (checked with uwsgi --show-config)', () => {
  writeFileSync(join(dir, 'content.txt'), 'from-a-file\n');
  const file = writeIni(
    'expand.ini',
    [
      '[uwsgi]',
      // an unknown key is a placeholder when something refers to it; references bind late
      'early = %(late)',
      'base = /srv/$(APP_NAME)',
      'fastrouter = %(base)/router.sock',
      'socket = 127.0.0.1:3031',
      'socket = 127.0.0.2:3031',
      'fastrouter-to = %(socket)',
      'set-placeholder = ph=%(early)-x',
      'http-var = X=%(ph)',
      'http-var = F=@(content.txt)',
      'late = L',
      'set = fastrouter-timeout=9',
      'http-var = T=%(fastrouter-timeout)',
    ].join('\n'),
  );
  const c = loadConfig(
    ['--ini', file, '--http-var', 'CLI=%(base)'],
    { APP_NAME: 'shop' },
    { cwd: dir },
  ).config;
  assert.deepEqual(c.all('fastrouter'), ['/srv/shop/router.sock']);
  assert.deepEqual(c.all('fastrouter-to'), ['127.0.0.1:3031'], '%(socket) = the first socket, as uWSGI');
  assert.deepEqual(c.all('http-var'), ['X=L-x', 'F=from-a-file', 'T=9', 'CLI=/srv/shop']);
  assert.equal(c.int('fastrouter-timeout'), 9, '--set NAME=VALUE sets an existing option');
});

test('ini: expansions that uWSGI would leave half-done are errors naming the line', () => {
  const cases: Array<[string, RegExp]> = [
    [
      'socket = $(UWR_SURELY_UNSET)/a.sock',
      /:2: environment variable UWR_SURELY_UNSET \(in "\$\(UWR_SURELY_UNSET\)"\) is not set$/,
    ],
    ['socket = %(nope)', /:2: "%\(nope\)" names no option or placeholder of this configuration/],
    ['a = %(b)\nb = %(a)\nsocket = %(a)', /"%\(a\)" refers back to itself/],
    ['n = 2\nsocket = %(n + 1)', /placeholder arithmetic "%\(n \+ 1\)" is not supported/],
    ['socket = @(missing.txt)', /cannot read "missing\.txt" for "@\(missing\.txt\)": ENOENT/],
    ['socket = 100%z', /:2: "%z" is not a uWSGI magic variable/],
    ['socket = 100%', /:2: a lone "%" ends the line/],
    [
      'fastrouter-use-pattern = /tmp/%s.sock',
      /:2: in an ini file "%s" is the magic variable "file name", not the key: write %%s/,
    ],
    [
      'if-env = HOME\nsocket = x\nendif =',
      /:2: "if-env" is uWSGI configuration logic, which uwrouter does not evaluate/,
    ],
    [
      'include = other.ini',
      /:2: "include" is not supported by uwrouter; load another ini file with "ini = FILE/,
    ],
  ];
  for (const [body, expected] of cases) {
    const file = writeIni('bad-expand.ini', `[uwsgi]\n${body}\n`);
    assert.match(
      errorOf(() => loadConfig([file], {}, { cwd: dir })),
      expected,
      body,
    );
  }
});

test('ini: logto is a known, implemented option (not an unknown key taken as a placeholder)', async () => {
  const { checkOptionStatuses } = await import('../../src/config/status.ts');
  const file = writeIni('logto.ini', '[uwsgi]\nfastrouter = :0\nlogto = /var/log/uwrouter.log\n');
  const { config } = loadConfig([file], {});
  assert.deepEqual(checkOptionStatuses(config), { refused: [], warnings: [] });
  assert.equal(config.str('logto'), '/var/log/uwrouter.log');
});

test("ini: %j is uWSGI's djb33x hash of the path (value from the real uWSGI)", async () => {
  const { djb33x } = await import('../../src/config/expand.ts');
  // uwsgi --ini /tmp/cliexp/sub/j.ini --show-config printed j = E961D46A
  const b = Buffer.alloc(4);
  b.writeUInt32LE(djb33x(Buffer.from('/tmp/cliexp/sub/j.ini')));
  assert.equal(b.toString('hex').toUpperCase(), 'E961D46A');
  // the subscription slot hash of the fixtures README uses the same function
  assert.equal(djb33x(Buffer.from('example.com')) % 0xffff, 30778);
});
