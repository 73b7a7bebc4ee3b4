import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromValues, loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';

const load = (argv: string[], env: Record<string, string | undefined> = {}) => loadConfig(argv, env).config;

test('argv: --opt value, --opt=value, repeated options keep their order', () => {
  const c = load([
    '--fastrouter',
    '127.0.0.1:3017',
    '--fastrouter-to=127.0.0.1:3031',
    '--fastrouter-to',
    '/tmp/app.sock',
    '--fastrouter-timeout',
    '5',
  ]);
  assert.deepEqual(c.all('fastrouter'), ['127.0.0.1:3017']);
  assert.deepEqual(c.all('fastrouter-to'), ['127.0.0.1:3031', '/tmp/app.sock']);
  assert.equal(c.int('fastrouter-timeout'), 5);
  assert.equal(c.int('fastrouter-gracetime'), 30, 'default');
  assert.equal(c.has('fastrouter-gracetime'), false);
  assert.deepEqual(c.given(), ['fastrouter', 'fastrouter-to', 'fastrouter-timeout']);
});

test('argv: --opt= gives an empty value; values may contain "="', () => {
  const c = load(['--http-var=A=b=c', '--fastrouter-subscription-fallback-key=']);
  assert.deepEqual(c.all('http-var'), ['A=b=c']);
  assert.equal(c.str('fastrouter-subscription-fallback-key'), '');
});

test('argv: flags take a separate value only when it is a boolean word', () => {
  let c = load(['--http-raw-body', '--http', ':8080']);
  assert.equal(c.flag('http-raw-body'), true);
  assert.deepEqual(c.all('http'), [':8080']);
  c = load(['--http-raw-body', 'off', '--http-websockets', 'YES', '--fastrouter-cheap']);
  assert.equal(c.flag('http-raw-body'), false);
  assert.equal(c.flag('http-websockets'), true);
  assert.equal(c.flag('fastrouter-cheap'), true);
  // the next token is not a boolean word: it is the next argument (here a positional ini)
  assert.throws(() => load(['--fastrouter-cheap', 'maybe']), /unexpected argument "maybe"/);
  c = load(['--http-websockets=false']);
  assert.equal(c.flag('http-websockets'), false);
  assert.equal(c.has('http-websockets'), true);
});

test('argv: optional-int takes a separate value only if numeric or a boolean word', () => {
  assert.equal(load(['--http-keepalive']).int('http-keepalive'), 1);
  assert.equal(load(['--http-keepalive', '--http', ':80']).int('http-keepalive'), 1);
  assert.equal(load(['--http-keepalive', '30']).int('http-keepalive'), 30);
  assert.equal(load(['--http-keepalive', 'true']).int('http-keepalive'), 1);
  assert.equal(load(['--http-keepalive', 'off']).flag('http-keepalive'), false);
  assert.equal(load(['--http-keepalive=true']).flag('http-keepalive'), true);
  assert.equal(load([]).flag('http-keepalive'), false);
  assert.equal(load(['--http-manage-expect', '4096']).int('http-manage-expect'), 4096);
});

test('argv: optional string values only with "="; optional ints take a numeric token', () => {
  let c = load(['--fastrouter-use-cache', '--fastrouter', ':3017']);
  assert.equal(c.has('fastrouter-use-cache'), true);
  assert.equal(c.str('fastrouter-use-cache'), '');
  c = load(['--fastrouter-use-cache=routes']);
  assert.equal(c.str('fastrouter-use-cache'), 'routes');
  c = load(['--http-use-socket', '2', '--rawrouter-use-socket']);
  assert.equal(c.int('http-use-socket'), 2);
  assert.equal(c.str('rawrouter-use-socket'), '0');
});

test('argv: aliases store under the canonical name', () => {
  const c = load([
    '--httprouter',
    ':80',
    '--http-workers',
    '4',
    '--st',
    '127.0.0.1:7000:example.com',
    '--http-ss=:9191',
  ]);
  assert.deepEqual(c.all('http'), [':80']);
  assert.equal(c.int('http-processes'), 4);
  assert.equal(c.int('http-workers'), 4, 'Config accepts aliases too');
  assert.deepEqual(c.all('subscribe-to'), ['127.0.0.1:7000:example.com']);
  assert.equal(c.str('http-stats'), ':9191');
});

test('argv: a single-valued option given twice keeps the last value', () => {
  const c = load(['--subscription-algo', 'lrc', '--subscription-algo', 'wlrc']);
  assert.equal(c.str('subscription-algo'), 'wlrc');
  assert.deepEqual(c.all('subscription-algo'), ['wlrc']);
});

test('argv: -h, --help and --version', () => {
  assert.equal(loadConfig(['-h'], {}).help, true);
  assert.equal(loadConfig(['--help'], {}).help, true);
  assert.equal(loadConfig(['--version'], {}).version, true);
  const none = loadConfig([], {});
  assert.equal(none.help, false);
  assert.equal(none.version, false);
  assert.deepEqual(none.sources, []);
});

test('argv: "--" ends options; later arguments are positionals', () => {
  assert.throws(() => load(['--', '--http']), /unexpected argument "--http"/);
});

test('environment: UWSGI_<OPTION> applies before argv', () => {
  const env = {
    UWSGI_FASTROUTER_TO: '127.0.0.1:3031',
    UWSGI_FASTROUTER_TIMEOUT: '9',
    UWSGI_HTTP_KEEPALIVE: 'true',
    UWSGI_RELOADS: '3',
    UWSGI_ORIGINAL_PROC_NAME: 'uwsgi',
    UWSGI_VERSION: '2.0.30',
    PATH: '/bin',
    UWSGI_UNSET: undefined,
  };
  let c = load([], env);
  assert.deepEqual(c.all('fastrouter-to'), ['127.0.0.1:3031']);
  assert.equal(c.int('fastrouter-timeout'), 9);
  assert.equal(c.int('http-keepalive'), 1, 'no #445 trap from the environment either');
  assert.equal(loadConfig([], env).version, false, 'UWSGI_VERSION is not --version');
  c = load(['--fastrouter-to', '127.0.0.1:3032', '--fastrouter-timeout', '3'], env);
  assert.deepEqual(c.all('fastrouter-to'), ['127.0.0.1:3031', '127.0.0.1:3032'], 'env values come first');
  assert.equal(c.int('fastrouter-timeout'), 3, 'argv wins');
});

test('environment: a bad value of a known option names the variable', () => {
  assert.throws(
    () => load([], { UWSGI_FASTROUTER_TIMEOUT: 'soon' }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.code === 'UWR_ERR_CONFIG' &&
      e.message ===
        'environment UWSGI_FASTROUTER_TIMEOUT: option "--fastrouter-timeout": "soon" is not a number',
  );
});

test('errors: unknown options with suggestions', () => {
  const msg = (argv: string[]) => {
    try {
      load(argv);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    assert.fail('expected a ConfigError');
  };
  assert.equal(
    msg(['--fastroter-to', 'x']),
    'unknown option "--fastroter-to"; did you mean "--fastrouter-to"?',
  );
  assert.equal(
    msg(['--http-keepalve']),
    'unknown option "--http-keepalve"; did you mean "--http-keepalive"?',
  );
  assert.equal(
    msg(['--subscription-algorithm=wrr']),
    'unknown option "--subscription-algorithm"; did you mean "--subscription-algo"?',
  );
  assert.equal(
    msg(['--fastrouter-time', '3']),
    'unknown option "--fastrouter-time"; did you mean "--fastrouter-timeout"?',
  );
  assert.equal(msg(['-fastrouter', ':3017']), 'unknown option "-fastrouter"; did you mean "--fastrouter"?');
  assert.equal(
    msg(['--wsgi-file', 'app.py']),
    'unknown option "--wsgi-file"',
    'the command prints the --help hint once, after the message',
  );
  assert.equal(msg(['-x']), 'unknown option "-x"');
  assert.equal(
    msg(['app.py']),
    'unexpected argument "app.py"; options start with "--" and a lone argument must be a FILE.ini[:section]',
  );
  assert.equal(msg(['--fastrouter-to']), 'option "--fastrouter-to": needs a value (ADDR)');
  assert.equal(msg(['--fastrouter-to', '--http', ':80']), 'option "--fastrouter-to": needs a value (ADDR)');
  assert.equal(msg(['--fastrouter-timeout', 'abc']), 'option "--fastrouter-timeout": "abc" is not a number');
  assert.equal(
    msg(['--fastrouter-processes=100']),
    'option "--fastrouter-processes": "100" is out of range; it must be between 1 and 64',
  );
  assert.equal(
    msg(['--subscription-algo', 'random']),
    'option "--subscription-algo": "random" is not one of wrr, lrc, wlrc, iphash',
  );
  assert.equal(
    msg(['--http-websockets=maybe']),
    'option "--http-websockets": "maybe" is not a boolean; use one of true, false, 1, 0, yes, no, on, off',
  );
});

test('configFromValues validates like loadConfig', () => {
  const c = configFromValues({
    'fastrouter-to': ['a:1', 'b:2'],
    'http-keepalive': true,
    'http-raw-body': false,
    'http-workers': '2',
  });
  assert.deepEqual(c.all('fastrouter-to'), ['a:1', 'b:2']);
  assert.equal(c.int('http-keepalive'), 1);
  assert.equal(c.flag('http-raw-body'), false);
  assert.equal(c.int('http-processes'), 2);
  assert.throws(() => configFromValues({ 'fastroutr-to': 'x' }), /did you mean "--fastrouter-to"/);
});
