import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  buildRequestPacket,
  headerVarName,
  parseHttpVar,
  type RequestVarsInput,
  resolveModifiers,
  serverPortOf,
} from '../../src/http-router/request-vars.ts';
import type { HttpRequestHead } from '../../src/protocol/http-request-head.ts';
import { HttpRequestHeadReader } from '../../src/protocol/http-request-head-reader.ts';
import { decodePacket } from '../../src/protocol/uwsgi.ts';

const FIX = new URL('../fixtures/request/', import.meta.url);

interface FixtureVar {
  key: string;
  val: string;
}
function fixture(name: string): {
  vars: FixtureVar[];
  modifier1: number;
  modifier2: number;
  datasize: number;
} {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIX), 'utf8'));
}

function head(text: string, proxyProtocol = false): HttpRequestHead {
  const r = new HttpRequestHeadReader({ maxHeadSize: 1 << 20, proxyProtocol }).push(
    Buffer.from(text, 'latin1'),
  );
  if (r.state !== 'done') throw new Error(`bad test head: ${JSON.stringify(r)}`);
  return r.head;
}

/** uWSGI prints the port byte-swapped (spec: corerouter.md §9); we send the real one */
function swap16(port: number): number {
  return ((port & 0xff) << 8) | (port >> 8);
}

const GET =
  'GET /path/x?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: golden/1.0\r\nAccept: */*\r\n\r\n';
const POST =
  'POST /post HTTP/1.1\r\nHost: example.com\r\nUser-Agent: golden/1.0\r\nAccept: */*\r\n' +
  'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\n';

function build(text: string, input: Partial<RequestVarsInput> = {}): Array<[string, string]> {
  const r = buildRequestPacket(head(text), {
    serverName: 'vm',
    serverPort: '21280',
    remoteAddr: '127.0.0.1',
    remotePort: 40101,
    ...input,
  });
  assert.ok(r.ok);
  const d = decodePacket(r.packet);
  assert.equal(d.error, undefined);
  assert.equal(d.body.length, 0);
  return d.vars;
}

function compareWithFixture(name: string, text: string, input: Partial<RequestVarsInput>): void {
  const fx = fixture(name);
  const ours = build(text, input);
  const want = fx.vars.map((v) => {
    if (v.key === 'REMOTE_PORT') return [v.key, String(swap16(Number(v.val)))];
    return [v.key, v.val];
  });
  assert.deepEqual(ours, want);
}

test('GET vars equal the uWSGI capture (order included)', () => {
  assert.equal(swap16(42396), 40101);
  compareWithFixture('http-router-get', GET, { remotePort: 40101 });
  // byte-exact apart from REMOTE_PORT (same length here)
  const r = buildRequestPacket(head(GET), {
    serverName: 'vm',
    serverPort: '21280',
    remoteAddr: '127.0.0.1',
    remotePort: 42396,
  });
  assert.ok(r.ok);
  assert.deepEqual(r.packet, readFileSync(new URL('http-router-get.bin', FIX)));
});

test('POST vars equal the uWSGI capture (PATH_INFO after REQUEST_URI, CONTENT_* unprefixed)', () => {
  const port = swap16(47516);
  compareWithFixture('http-router-post', POST, { remotePort: port });
});

test('HTTPS vars equal the uWSGI capture', () => {
  compareWithFixture('https-router-get', GET, {
    serverPort: '21286',
    https: true,
    remotePort: swap16(52636),
  });
});

test('duplicates merged into the first occurrence with ", " (Cookie too)', () => {
  const vars = build('GET / HTTP/1.1\r\nCookie: a=1\r\nX-A: 1\r\ncookie: b=2\r\nX_A: 2\r\n\r\n');
  assert.deepEqual(vars.slice(-2), [
    ['HTTP_COOKIE', 'a=1, b=2'],
    ['HTTP_X_A', '1, 2'],
  ]);
  // many headers use the map path
  let many = 'GET / HTTP/1.1\r\n';
  for (let i = 0; i < 40; i++) many += `X-H${i % 20}: v${i}\r\n`;
  const mv = build(`${many}\r\n`);
  assert.equal(mv.filter(([k]) => k.startsWith('HTTP_X_H')).length, 20);
  assert.deepEqual(
    mv.find(([k]) => k === 'HTTP_X_H3'),
    ['HTTP_X_H3', 'v3, v23'],
  );
});

test('underscore spellings of framing/routing headers are dropped', () => {
  const vars = build(
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent_Length: 99\r\nTransfer_Encoding: chunked\r\nX_Y: 1\r\n\r\n',
  );
  assert.deepEqual(vars.slice(-3), [
    ['HTTP_HOST', 'a'],
    ['CONTENT_LENGTH', '1'],
    ['HTTP_X_Y', '1'],
  ]);
});

test('server-name-as-http-host, http-var, tls vars, PROXY source, unix listener', () => {
  const vars = build('GET / HTTP/1.1\r\nAccept: x\r\nHost: h:8\r\n\r\n', {
    serverNameAsHttpHost: true,
    extraVars: [parseHttpVar('A=b=c')!, ['EMPTY', '']],
    https: true,
    tlsVars: [['HTTPS_DN', '/CN=x']],
    serverPort: serverPortOf('/tmp/http.sock'),
  });
  const keys = vars.map(([k]) => k);
  assert.ok(!keys.slice(0, 10).includes('SERVER_NAME'));
  assert.deepEqual(vars.slice(8), [
    ['HTTPS', 'on'],
    ['HTTPS_DN', '/CN=x'],
    ['REMOTE_ADDR', '127.0.0.1'],
    ['REMOTE_PORT', '40101'],
    ['HTTP_ACCEPT', 'x'],
    ['SERVER_NAME', 'h:8'],
    ['HTTP_HOST', 'h:8'],
    ['A', 'b=c'],
    ['EMPTY', ''],
  ]);
  assert.deepEqual(vars[6], ['SERVER_PORT', '']);
  const proxied = buildRequestPacket(
    head('PROXY TCP4 9.9.9.9 1.1.1.1 1234 80\r\nGET / HTTP/1.1\r\n\r\n', true),
    {
      serverName: 'vm',
      serverPort: '80',
      remoteAddr: '127.0.0.1',
      remotePort: 1,
    },
  );
  assert.ok(proxied.ok);
  const pv = decodePacket(proxied.packet).vars;
  assert.deepEqual(
    pv.find(([k]) => k === 'REMOTE_ADDR'),
    ['REMOTE_ADDR', '9.9.9.9'],
  );
  assert.deepEqual(
    pv.find(([k]) => k === 'REMOTE_PORT'),
    ['REMOTE_PORT', '1234'],
  );
  // no Host: SERVER_NAME keeps the hostname even with server-name-as-http-host
  const nohost = build('GET / HTTP/1.1\r\n\r\n', { serverNameAsHttpHost: true });
  assert.deepEqual(nohost[6], ['SERVER_NAME', 'vm']);
});

test('size limits → 431 with a typed error', () => {
  const big = `GET / HTTP/1.1\r\nCookie: ${'c'.repeat(5000)}\r\n\r\n`;
  const input = { serverName: 'vm', serverPort: '80', remoteAddr: '127.0.0.1', remotePort: 1 };
  const r = buildRequestPacket(head(big), { ...input, maxVars: 4096 });
  assert.ok(!r.ok && r.status === 431 && r.code === 'UWR_ERR_HEADERS_TOO_LARGE' && r.limit === 4096);
  assert.ok(buildRequestPacket(head(big), input).ok);
  const huge = `GET / HTTP/1.1\r\nA: ${'a'.repeat(33000)}\r\nB: ${'b'.repeat(33000)}\r\n\r\n`;
  const h = buildRequestPacket(head(huge), { ...input, maxVars: 1e9 });
  assert.ok(!h.ok && h.limit === 65535 && h.size > 65535);
});

test('modifiers, SERVER_PORT, header names', () => {
  assert.deepEqual(resolveModifiers(5, 0), { modifier1: 5, modifier2: 0, raw: false });
  assert.deepEqual(resolveModifiers(5, 1, 9), { modifier1: 9, modifier2: 1, raw: false });
  assert.deepEqual(resolveModifiers(0, 0, 0, 3), { modifier1: 0, modifier2: 3, raw: false });
  assert.deepEqual(resolveModifiers(123, 0), { modifier1: 0, modifier2: 0, raw: true });
  assert.deepEqual(resolveModifiers(0, 0, 123), { modifier1: 0, modifier2: 0, raw: true });
  const r = buildRequestPacket(head(GET), {
    serverName: 'vm',
    serverPort: '1',
    remoteAddr: 'a',
    remotePort: 1,
    modifier1: 7,
    modifier2: 2,
  });
  assert.ok(r.ok && r.packet[0] === 7 && r.packet[3] === 2);
  assert.equal(serverPortOf(':8080'), '8080');
  assert.equal(serverPortOf('[::1]:9'), '9');
  assert.equal(serverPortOf('/run/x.sock'), '');
  assert.equal(headerVarName('content-type'), 'CONTENT_TYPE');
  assert.equal(headerVarName('X-Forwarded-For'), 'HTTP_X_FORWARDED_FOR');
  assert.equal(parseHttpVar('novalue'), null);
  assert.equal(parseHttpVar('=x'), null);
});
