/**
 * The request log's lines (the plain one against real uWSGI request lines), its
 * destination (file mode, appends, reopen, bounded buffer), and its options.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/index.ts';
import { RequestLine, type RequestRecord } from '../src/request-line.ts';
import { logSafe, RequestLog, requestLogFromConfig, requestLoggerPath } from '../src/request-log.ts';
import { captureLogger } from './log-capture.ts';

const dir = mkdtempSync(join(tmpdir(), 'uwr-reqlog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** uWSGI's request line up to the status: `[pid: …] ADDR (USER) {N vars in B bytes} [CTIME] METHOD URI => generated B bytes in T msecs (PROTO STATUS)` */
const UWSGI_LINE =
  /^\[pid: \d+\|app: [-\d]+\|req: [-\d]+\/\d+\] (\S+) \(\) \{(\d+) vars in (\d+) bytes\} \[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\] (\S+) (\S+) => generated (\d+) bytes in (\d+) msecs \((HTTP\/1\.[01]) (\d{3})\)/;

const RECORD: RequestRecord = {
  router: 'http',
  startedAt: Date.UTC(2026, 10, 30, 21, 34, 50, 123),
  clientAddr: '10.0.0.7',
  clientPort: 51334,
  method: 'GET',
  uri: '/path?x=1',
  protocol: 'HTTP/1.1',
  status: 200,
  responseBytes: 57,
  requestBodyBytes: 6,
  totalMs: 3.7,
  connectMs: 0.412,
  ttfbMs: 1.2,
  key: 'example.com',
  node: '127.0.0.1:3031',
  code: '',
  vars: 12,
  varsBytes: 345,
};

function collecting(format: 'uwsgi' | 'json'): { log: RequestLog; lines: string[] } {
  const lines: string[] = [];
  const log = new RequestLog({
    format,
    stream: {
      write: (l: string) => {
        lines.push(l);
        return true;
      },
    },
    log: captureLogger().log,
  });
  return { log, lines };
}

test('the plain line has the shape of real uWSGI request lines up to the status, then the router facts', () => {
  const captured = readFileSync(
    new URL('fixtures/request-log/uwsgi-request-lines.txt', import.meta.url),
    'latin1',
  )
    .split('\n')
    .filter((l) => l.startsWith('[pid:'));
  assert.equal(captured.length, 3);
  for (const l of captured) assert.match(l, UWSGI_LINE, 'the pattern describes the reference');
  const { log, lines } = collecting('uwsgi');
  log.write(RECORD);
  log.write({ ...RECORD, status: 502, code: 'UWR_ERR_CONNECT', node: '', connectMs: -1, ttfbMs: -1 });
  const m = UWSGI_LINE.exec(lines[0]);
  assert.ok(m, lines[0]);
  assert.deepEqual(m.slice(1), ['10.0.0.7', '12', '345', 'GET', '/path?x=1', '57', '3', 'HTTP/1.1', '200']);
  assert.ok(lines[0].startsWith(`[pid: ${process.pid}|app: -|req: -/1] `));
  assert.ok(
    lines[0].endsWith(
      ' key: example.com node: 127.0.0.1:3031 router: http client_port: 51334 connect: 0.41 msecs ttfb: 1.20 msecs body: 6 bytes\n',
    ),
    lines[0],
  );
  assert.match(lines[1], UWSGI_LINE);
  assert.ok(lines[1].includes('|req: -/2] '));
  assert.ok(
    lines[1].endsWith(
      ' node: - router: http client_port: 51334 connect: - ttfb: - body: 6 bytes error: UWR_ERR_CONNECT\n',
    ),
    lines[1],
  );
});

test('the JSON line: named fields, null for what did not happen', () => {
  const { log, lines } = collecting('json');
  log.write(RECORD);
  log.write({
    ...RECORD,
    status: 0,
    code: 'UWR_ERR_CLIENT_CLOSED',
    key: '',
    node: '',
    connectMs: -1,
    ttfbMs: -1,
  });
  const a = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.deepEqual(a, {
    time: RECORD.startedAt,
    pid: process.pid,
    kind: 'request',
    router: 'http',
    client_addr: '10.0.0.7',
    client_port: 51334,
    method: 'GET',
    uri: '/path?x=1',
    protocol: 'HTTP/1.1',
    status: 200,
    response_bytes: 57,
    request_body_bytes: 6,
    total_ms: 3.7,
    connect_ms: 0.412,
    ttfb_ms: 1.2,
    key: 'example.com',
    node: '127.0.0.1:3031',
    code: null,
  });
  const b = JSON.parse(lines[1]) as Record<string, unknown>;
  assert.deepEqual(
    [b.status, b.code, b.key, b.node, b.connect_ms, b.ttfb_ms],
    [0, 'UWR_ERR_CLIENT_CLOSED', null, null, null, null],
  );
});

test('JSON lines are ASCII and give back the exact text, whatever it holds', () => {
  const { log, lines } = collecting('json');
  const uri = '/q"\\\x01\x7f\xe9?a=b';
  log.write({ ...RECORD, uri, key: 'K\xff' });
  assert.ok(
    [...lines[0]].every((c) => c.charCodeAt(0) <= 0x7f),
    lines[0],
  );
  const r = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.equal(r.uri, uri);
  assert.equal(r.key, 'K\xff');
});

test('untrusted text is escaped and bounded in plain lines', () => {
  assert.equal(logSafe('/a b?c=1'), '/a b?c=1');
  assert.equal(logSafe('/\x1b[31m"x"\\\xff'), '/\\x1b[31m\\x22x\\x22\\x5c\\xff');
  assert.equal(logSafe('/abcdef', 4), '/abc...');
  const { log, lines } = collecting('uwsgi');
  log.write({ ...RECORD, uri: `/${'a'.repeat(5000)}\n` });
  assert.ok(lines[0].length < 2600, `${lines[0].length}`);
  assert.equal(lines[0].split('\n').length, 2, 'one line');
  const json = collecting('json');
  json.log.write({ ...RECORD, uri: `/${'a'.repeat(5000)}` });
  assert.equal((JSON.parse(json.lines[0]) as { uri: string }).uri.length, 2048 + 3);
});

test('a request line goes out once, with the first code noted', () => {
  const { log, lines } = collecting('json');
  const line = new RequestLine(log, 'fastrouter');
  line.begin('POST', '/up', 'HTTP/1.0', 9, 200);
  line.connected('127.0.0.1:3031');
  line.noted('UWR_ERR_TIMEOUT');
  line.noted('UWR_ERR_BACKEND_CLOSED');
  line.end({ address: '::1', port: 2 }, 'k', 0, 'UWR_ERR_CLIENT_CLOSED', 10, 5);
  line.end({ address: '::1', port: 2 }, 'k', 0, '', 10, 5);
  assert.equal(lines.length, 1);
  const r = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.deepEqual(
    [r.router, r.method, r.code, r.node, r.response_bytes, r.request_body_bytes, r.ttfb_ms],
    ['fastrouter', 'POST', 'UWR_ERR_TIMEOUT', '127.0.0.1:3031', 10, 5, null],
  );
  assert.equal(typeof r.connect_ms, 'number');
});

test('a file: created 0640, appended to, reopened after a rename (logrotate)', async () => {
  const path = join(dir, 'requests.log');
  const rl = new RequestLog({ format: 'uwsgi', dest: path, log: captureLogger().log });
  assert.equal(statSync(path).mode & 0o777, 0o640);
  rl.write(RECORD);
  await sleep(100);
  renameSync(path, `${path}.1`);
  assert.equal(rl.reopen(), true);
  await sleep(100);
  rl.write({ ...RECORD, uri: '/after' });
  await rl.close();
  assert.match(readFileSync(`${path}.1`, 'latin1'), /GET \/path\?x=1 => /);
  const fresh = readFileSync(path, 'latin1');
  assert.match(fresh, /GET \/after => /);
  assert.doesNotMatch(fresh, /\/path\?x=1/);
  assert.equal(statSync(path).mode & 0o777, 0o640);
  // appended, never truncated
  const again = new RequestLog({ format: 'uwsgi', dest: path, log: captureLogger().log });
  again.write({ ...RECORD, uri: '/third' });
  await again.close();
  assert.match(readFileSync(path, 'latin1'), /\/after => [\s\S]*\/third => /);
});

test('a destination that is behind: the lines it refuses are counted and reported once per burst', () => {
  let kept = 0;
  const stream = { write: (_l: string) => ++kept <= 3 };
  const cap = captureLogger();
  const rl = new RequestLog({ format: 'json', stream, log: cap.log });
  const results = Array.from({ length: 10 }, () => rl.write(RECORD));
  assert.deepEqual(results, [true, true, true, false, false, false, false, false, false, false]);
  assert.equal(rl.dropped, 7);
  assert.equal(
    cap.records.filter((r) => r.code === 'UWR_ERR_REQUEST_LOG').length,
    0,
    'reported after the burst',
  );
  // the report comes 1 s after the burst began, or now at shutdown: one line for all 7
  rl.flush();
  const warns = cap.records.filter((r) => r.code === 'UWR_ERR_REQUEST_LOG');
  assert.equal(warns.length, 1);
  assert.match(warns[0].msg, /^\[uwrouter\] request log stream: 7 lines dropped: the destination is slower/);
  assert.equal(warns[0].level, 40);
});

test('the real destination: a burst past its buffer is dropped and counted, the rest is written', async () => {
  const path = join(dir, 'burst.log');
  const cap = captureLogger();
  const rl = new RequestLog({ format: 'uwsgi', dest: path, log: cap.log, maxBufferBytes: 4096 });
  await sleep(50);
  // one tick: the first line starts a write, the next ones wait in the 4 KiB buffer
  for (let i = 0; i < 200; i++) rl.write({ ...RECORD, uri: `/n${i}` });
  assert.ok(rl.dropped > 100, `${rl.dropped} dropped`);
  await rl.close();
  const written = readFileSync(path, 'latin1')
    .split('\n')
    .filter((l) => l !== '').length;
  assert.equal(written + rl.dropped, 200);
  assert.match(cap.lines.join('\n'), new RegExp(`${rl.dropped} lines dropped`));
});

test('with --logto, --log-requests writes into the process log file; a line its queue drops is counted as dropped', () => {
  const { config } = loadConfig(['--http', '127.0.0.1:0', '--log-requests'], {});
  const cap = captureLogger();
  const written: string[] = [];
  // a process log file whose queue is full after two lines (LogFile counts what it drops)
  const file = {
    path: '/var/log/uwrouter.log',
    dropped: 0,
    write(line: string) {
      if (written.length < 2) written.push(line);
      else this.dropped++;
    },
  };
  const rl = requestLogFromConfig(config, cap.log, null, file);
  assert.equal(rl?.target, '/var/log/uwrouter.log');
  assert.equal(rl?.reopenable, false, 'reopened with the process log, not on its own');
  const results = Array.from({ length: 4 }, () => rl!.write(RECORD));
  assert.deepEqual(results, [true, true, false, false]);
  assert.equal(rl!.dropped, 2);
  assert.match(written[0], /^\[pid: \d+\|app: -\|req: -\/1\] /);
  // --req-logger still wins over the process log
  const own = join(dir, 'own.log');
  const { config: c2 } = loadConfig(['--http', '127.0.0.1:0', '--req-logger', `file:${own}`], {});
  assert.equal(requestLogFromConfig(c2, cap.log, null, file)?.target, own);
});

test('the options: --log-requests, --req-logger file forms and refusals, --disable-logging', () => {
  const make = (args: string[]) => {
    const cap = captureLogger();
    const { config } = loadConfig(['--http', '127.0.0.1:0', ...args], {});
    return { rl: requestLogFromConfig(config, cap.log), warns: cap.lines };
  };
  assert.equal(make([]).rl, null, 'off by default');
  const stderr = make(['--log-requests']).rl;
  assert.equal(stderr?.target, 'stderr');
  assert.equal(stderr?.format, 'uwsgi');
  const path = join(dir, 'a.log');
  assert.equal(make(['--req-logger', `file:${path}`, '--log-format', 'json']).rl?.target, path);
  assert.equal(make(['--req-logger', `file:${path}`, '--log-format', 'json']).rl?.format, 'json');
  assert.equal(make(['--logger-req', `file:logfile=${path}`]).rl?.target, path);
  const off = make(['--log-requests', '--req-logger', `file:${path}`, '--disable-logging']);
  assert.equal(off.rl, null);
  assert.match(off.warns.join('\n'), /--disable-logging: no request log/);
  assert.equal(requestLoggerPath('file:/x/y.log'), '/x/y.log');
  const refusals: Array<[string[], RegExp]> = [
    [['--req-logger', 'syslog:uwsgi'], /"syslog" request logger plugin is not implemented/],
    [['--req-logger', 'udp:127.0.0.1:514'], /"udp" request logger plugin is not implemented/],
    [['--req-logger', 'mylog,file:/tmp/x'], /named request loggers/],
    [
      ['--req-logger', `file:logfile=${path},maxsize=100`],
      /maxsize: not implemented \(rotate with logrotate/,
    ],
    [['--req-logger', 'file:'], /no file/],
    [['--req-logger', `file:${path}`, '--req-logger', `file:${path}.2`], /given 2 times/],
    [['--req-logger', `file:${join(dir, 'missing', 'x.log')}`], /cannot open .* for appending: ENOENT/],
  ];
  for (const [args, re] of refusals) assert.throws(() => make(args), re, args.join(' '));
});
