/**
 * Issue 2 — nginx → uwrouter fastrouter → real uWSGI nodes (spec: uwsgi-protocol.md §7,
 * corerouter.md §3–§8): round robin over static nodes and retry past a dead one, the vars a
 * node receives are those nginx sends (checked against the real uWSGI fastrouter too),
 * modifier1 rewrite, multi-MB bodies byte-exact, `--fastrouter-use-pattern` with unix
 * sockets, stats JSON, and bad input straight at the router port.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'undici';
import {
  freePort,
  httpGet,
  type NginxHandle,
  nginxMainConf,
  parseRawHttpResponse,
  pollUntil,
  rawRequest,
  readStatsJson,
  type ServerHandle,
  startNginx,
  startUwrouter,
  startUwsgiNode,
  startUwsgiRouter,
  tmpDir,
  UWSGI_PARAMS,
  uwsgiPacket,
} from './harness/index.ts';

interface EchoVars {
  vars: Record<string, string>;
  body: { length: number; sha256: string };
}

interface StaticNodeStats {
  name: string;
  hits: number;
  grace: number;
}

interface FastrouterStats {
  version: string;
  pid: number;
  active_sessions: number;
  fastrouter: string[];
  static_nodes?: StaticNodeStats[];
  cheap: number;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** One stats document: connect, read until the router closes, parse. */

/** uwsgi_pass to one of several upstream groups chosen by the X-Route header, which is hidden from the node. */
function routedLocation(): string {
  return `${UWSGI_PARAMS}
      uwsgi_param HTTP_X_ROUTE "" if_not_empty;
      uwsgi_pass $route;`;
}

function nginxConfFor(
  ports: { vars: number; pair: number; pattern: number },
  up: Record<string, string>,
): string {
  const upstream = (name: string, addr: string) =>
    `upstream ${name} { server ${addr.startsWith('/') ? `unix:${addr}` : addr}; }`;
  return nginxMainConf(`  ${upstream('direct', up.direct!)}
  ${upstream('uwrouter', up.uwrouter!)}
  ${upstream('uwsgi', up.uwsgi!)}
  ${upstream('pair', up.pair!)}
  ${upstream('pattern', up.pattern!)}
  map $http_x_route $route { default uwrouter; direct direct; uwsgi uwsgi; }
  server {
    listen 127.0.0.1:${ports.vars};
    server_name localhost;
    location / {
${routedLocation()}
    }
    location /mod5/ {
${routedLocation()}
      uwsgi_modifier1 5;
    }
  }
  server {
    listen 127.0.0.1:${ports.pair};
    server_name localhost;
    location / {
${UWSGI_PARAMS}
      uwsgi_pass pair;
    }
  }
  server {
    listen 127.0.0.1:${ports.pattern};
    server_name localhost;
    location / {
${UWSGI_PARAMS}
      uwsgi_pass pattern;
    }
  }`);
}

/** Several requests on one keep-alive connection to nginx (so REMOTE_PORT is the same). */
async function onOneConnection(
  origin: string,
  requests: Array<{ path: string; headers: Record<string, string>; method?: string; body?: Buffer }>,
): Promise<Array<{ status: number; body: Buffer }>> {
  const client = new Client(origin, { pipelining: 1, keepAliveTimeout: 10000 });
  try {
    const out: Array<{ status: number; body: Buffer }> = [];
    for (const r of requests) {
      const res = await client.request({
        path: r.path,
        method: (r.method ?? 'GET') as 'GET',
        headers: r.headers,
        body: r.body,
      });
      out.push({ status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) });
    }
    return out;
  } finally {
    await client.close();
  }
}

/** Open a connection, write `parts`, then destroy it without waiting for anything. */
function writeAndVanish(port: number, parts: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('error', reject);
    s.once('connect', () => {
      for (const p of parts) s.write(p);
      // let the bytes leave before the reset
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 100);
    });
  });
}

describe('nginx → uwrouter fastrouter → real uWSGI nodes', () => {
  let whoA: ServerHandle;
  let whoB: ServerHandle;
  let varsNode: ServerHandle;
  let routerPair: ServerHandle;
  let routerVars: ServerHandle;
  let routerPattern: ServerHandle;
  let uwsgiFr: ServerHandle;
  let slowNode: ServerHandle;
  let nginx: NginxHandle;
  const stats = { pair: 0, vars: 0, pattern: 0 };
  const nginxPorts = { vars: 0, pair: 0, pattern: 0 };
  let patternDir = '';

  before(async () => {
    patternDir = tmpDir('fr-pattern');
    let pa: ServerHandle;
    let pb: ServerHandle;
    let bodyNode: ServerHandle;
    [whoA, whoB, varsNode, pa, pb, bodyNode, slowNode] = await Promise.all([
      startUwsgiNode({ app: 'whoami.py', name: 'node-a' }),
      startUwsgiNode({ app: 'whoami.py', name: 'node-b' }),
      // a node that takes big vars blocks (big cookies), so the router must pass them on
      startUwsgiNode({ app: 'echo_vars.py', args: ['--buffer-size', '32768'] }),
      startUwsgiNode({ app: 'whoami.py', name: 'pattern-a', unix: true }),
      startUwsgiNode({ app: 'whoami.py', name: 'pattern-b', unix: true }),
      startUwsgiNode({ app: 'echo_body.py', unix: true }),
      startUwsgiNode({ app: 'slow.py', unix: true }),
    ]);
    // the pattern mapper connects to PATTERN_DIR/<key>.sock; the nodes live in their own dirs
    symlinkSync(pa.socketPath!, join(patternDir, 'a.example.sock'));
    symlinkSync(pb.socketPath!, join(patternDir, 'b.example.sock'));
    symlinkSync(bodyNode.socketPath!, join(patternDir, 'body.example.sock'));
    symlinkSync(slowNode.socketPath!, join(patternDir, 'slow.example.sock'));

    const [pPair, pVars, pPattern, pUwsgi] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    [stats.pair, stats.vars, stats.pattern] = await Promise.all([freePort(), freePort(), freePort()]);
    [routerPair, routerVars, routerPattern, uwsgiFr] = await Promise.all([
      startUwrouter([
        '--fastrouter',
        `127.0.0.1:${pPair}`,
        '--fastrouter-to',
        whoA.address,
        '--fastrouter-to',
        whoB.address,
        '--fastrouter-stats',
        `127.0.0.1:${stats.pair}`,
        '--fastrouter-timeout',
        '2',
      ]),
      startUwrouter([
        '--fastrouter',
        `127.0.0.1:${pVars}`,
        '--fastrouter-to',
        varsNode.address,
        '--fastrouter-stats',
        `127.0.0.1:${stats.vars}`,
      ]),
      startUwrouter([
        '--fastrouter',
        `127.0.0.1:${pPattern}`,
        '--fastrouter-use-pattern',
        join(patternDir, '%s.sock'),
        '--fastrouter-stats',
        `127.0.0.1:${stats.pattern}`,
      ]),
      startUwsgiRouter('fastrouter', [
        '--fastrouter',
        `127.0.0.1:${pUwsgi}`,
        '--fastrouter-to',
        varsNode.address,
      ]),
    ]);
    [nginxPorts.vars, nginxPorts.pair, nginxPorts.pattern] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
    ]);
    nginx = await startNginx(
      nginxConfFor(nginxPorts, {
        direct: varsNode.address,
        uwrouter: routerVars.address,
        uwsgi: uwsgiFr.address,
        pair: routerPair.address,
        pattern: routerPattern.address,
      }),
      { port: nginxPorts.vars },
    );
  });

  after(async () => {
    // the harness stops every process; this only makes a failure's output easier to read
    for (const r of [routerPair, routerVars, routerPattern]) {
      if (r && !r.isRunning()) process.stderr.write(`router exited early:\n${r.logs().slice(-2000)}\n`);
    }
  });

  const pairUrl = (path = '/') => `http://127.0.0.1:${nginxPorts.pair}${path}`;

  async function assertPairServes(): Promise<void> {
    const res = await httpGet(pairUrl());
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /^node-[ab]$/);
  }

  test('static nodes: round robin — both nodes answer through nginx', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const res = await httpGet(pairUrl());
      assert.equal(res.status, 200, res.text);
      seen.set(res.text, (seen.get(res.text) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['node-a', 'node-b']);
    assert.equal(seen.get('node-a'), 5, 'round robin alternates');
  });

  test('stats JSON: uWSGI field names, hits per static node, active_sessions back to 0', async () => {
    const s = await pollUntil('active_sessions 0', async () => {
      const doc = await readStatsJson<FastrouterStats>(stats.pair);
      return doc.active_sessions === 0 ? doc : undefined;
    });
    assert.equal(typeof s.version, 'string');
    assert.equal(s.pid, routerPair.pid);
    assert.deepEqual(s.fastrouter, [routerPair.address]);
    assert.equal(s.cheap, 0);
    assert.ok(s.static_nodes, 'static_nodes present');
    const byName = new Map(s.static_nodes.map((n) => [n.name, n]));
    assert.deepEqual([...byName.keys()].sort(), [whoA.address, whoB.address].sort());
    for (const n of s.static_nodes) {
      assert.ok(n.hits >= 5, `${n.name} hits ${n.hits}`);
      assert.equal(n.grace, 0);
    }
    // raw stats output: tab-indented, one key per line, as uWSGI prints it
    const raw = (await rawRequest(stats.pair, '')).toString();
    assert.match(raw, /^\{\n\t"version":/);
    assert.match(raw, /\n\t"active_sessions":0,\n/);
  });

  test('one node SIGKILLed: every request is answered by the other; stats show its grace', async () => {
    await whoB.kill();
    for (let i = 0; i < 12; i++) {
      const res = await httpGet(pairUrl());
      assert.equal(res.status, 200, `request ${i}: ${res.status} ${res.text}`);
      assert.equal(res.text, 'node-a');
    }
    const s = await readStatsJson<FastrouterStats>(stats.pair);
    const dead = s.static_nodes!.find((n) => n.name === whoB.address)!;
    const alive = s.static_nodes!.find((n) => n.name === whoA.address)!;
    assert.notEqual(dead.grace, 0, 'the dead node is in quarantine');
    assert.ok(Math.abs(dead.grace - Date.now() / 1000) < 60, `grace ${dead.grace} is a recent epoch`);
    assert.equal(alive.grace, 0);
    assert.match(routerPair.logs(), new RegExp(`unable to connect\\(\\) to node "${whoB.address}"`));
    assert.match(routerPair.logs(), new RegExp(`marking ${whoB.address} as failed`));
  });

  test('the vars a node receives through uwrouter equal those nginx sends it directly (and via uWSGI fastrouter)', async () => {
    const body = randomBytes(3000);
    const common = {
      path: '/some/path%20x?a=1&b=%2F',
      method: 'POST',
      body,
      // a 6000-byte cookie: the vars block is over the routers' 4096-byte buffer-size
      headers: {
        'content-type': 'application/x-test',
        cookie: `c=1; d=${'z'.repeat(6000)}`,
        'x-probe': 'yes',
      },
    };
    const [direct, viaUwr, viaUwsgi] = await onOneConnection(`http://127.0.0.1:${nginxPorts.vars}`, [
      { ...common, headers: { ...common.headers, 'x-route': 'direct' } },
      { ...common, headers: { ...common.headers, 'x-route': 'uwrouter' } },
      { ...common, headers: { ...common.headers, 'x-route': 'uwsgi' } },
    ]);
    for (const r of [direct!, viaUwr!, viaUwsgi!]) assert.equal(r.status, 200, r.body.toString());
    const d = JSON.parse(direct!.body.toString()) as EchoVars;
    const u = JSON.parse(viaUwr!.body.toString()) as EchoVars;
    const w = JSON.parse(viaUwsgi!.body.toString()) as EchoVars;
    assert.equal(d.vars.HTTP_X_ROUTE, undefined, 'nginx hides the routing header');
    assert.equal(d.vars.REQUEST_METHOD, 'POST');
    assert.equal(d.vars.HTTP_X_PROBE, 'yes');
    assert.deepEqual(d.body, { length: 3000, sha256: sha256(body) });
    // the reference: what the real uWSGI fastrouter forwards is what nginx sent
    assert.deepEqual(w, d);
    assert.deepEqual(u, d);
  });

  test('nginx uwsgi_modifier1 5 is replaced by 0 (a python node would refuse 5)', async () => {
    const [direct, viaUwr, viaUwsgi] = await onOneConnection(`http://127.0.0.1:${nginxPorts.vars}`, [
      { path: '/mod5/x', headers: { 'x-route': 'direct' } },
      { path: '/mod5/x', headers: { 'x-route': 'uwrouter' } },
      { path: '/mod5/x', headers: { 'x-route': 'uwsgi' } },
    ]);
    assert.equal(direct!.status, 502, 'the node itself rejects modifier1 5');
    assert.equal(viaUwsgi!.status, 200, 'uWSGI fastrouter rewrites it to 0');
    assert.equal(viaUwr!.status, 200, viaUwr!.body.toString());
    const u = JSON.parse(viaUwr!.body.toString()) as EchoVars;
    assert.equal(u.vars.PATH_INFO, '/mod5/x');
  });

  test('POST bodies of several MB arrive byte-exact through nginx and straight at the router', async () => {
    // through nginx the node hashes the body before answering (echo_vars): nginx stops
    // sending a request body once the response head arrives, so an app that answers while
    // still reading (echo_body) stalls behind nginx for big bodies, with or without a router
    for (const size of [0, 1, 65537, 2 * 1024 * 1024 + 3, 8 * 1024 * 1024]) {
      const body = randomBytes(size);
      const res = await httpGet(`http://127.0.0.1:${nginxPorts.vars}/upload`, {
        method: 'POST',
        headers: { 'x-route': 'uwrouter', 'content-type': 'application/octet-stream' },
        body,
        timeoutMs: 30000,
      });
      assert.equal(res.status, 200, `size ${size}: ${res.text.slice(0, 200)}`);
      const got = JSON.parse(res.text) as EchoVars;
      assert.deepEqual(got.body, { length: size, sha256: sha256(body) }, `size ${size} byte-exact`);
      assert.equal(got.vars.CONTENT_LENGTH, String(size));
    }
    // without nginx: header + vars + body written in pieces, the answer read raw
    const body = randomBytes(5 * 1024 * 1024 + 7);
    const packet = uwsgiPacket({
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/',
      QUERY_STRING: '',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_NAME: 'localhost',
      SERVER_PORT: '80',
      HTTP_HOST: 'body.example',
      CONTENT_LENGTH: String(body.length),
    });
    const parts = [packet, body.subarray(0, 1000), body.subarray(1000, 3_000_000), body.subarray(3_000_000)];
    const raw = await rawRequest(routerPattern.port!, parts, { timeoutMs: 30000, pauseMs: 5 });
    const res = parseRawHttpResponse(raw);
    assert.ok(res, 'a response head');
    assert.equal(res.status, 200);
    assert.equal(res.body.length, body.length);
    assert.equal(sha256(res.body), sha256(body));
  });

  test('--fastrouter-use-pattern DIR/%s.sock: unix socket nodes keyed by Host', async () => {
    for (const [host, name] of [
      ['a.example', 'pattern-a'],
      ['b.example', 'pattern-b'],
      ['a.example', 'pattern-a'],
    ] as const) {
      const res = await httpGet(`http://127.0.0.1:${nginxPorts.pattern}/`, { headers: { host } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, name);
    }
    // no socket for this key: the router closes, nginx answers 502
    const missing = await httpGet(`http://127.0.0.1:${nginxPorts.pattern}/`, {
      headers: { host: 'nope.example' },
    });
    assert.equal(missing.status, 502);
    assert.ok(routerPattern.isRunning());
  });

  test('bad input at the router port: random bytes are closed without a reply', async () => {
    for (let i = 0; i < 10; i++) {
      const junk = randomBytes(5 + Math.floor(Math.random() * 3000));
      // four in five announce their real length, so their random vars are parsed at once; the
      // fifth announces anything and is closed by a parse error or the 2 s timeout
      if (i % 5 !== 0) junk.writeUInt16LE(junk.length - 4, 1);
      const t0 = Date.now();
      const got = await rawRequest(routerPair.port!, junk, { timeoutMs: 8000 });
      assert.equal(got.length, 0, 'a router never answers with an error body');
      assert.ok(Date.now() - t0 < 7000, 'closed (by parse error or --fastrouter-timeout 2)');
    }
    assert.ok(routerPair.isRunning());
    await assertPairServes();
  });

  test('bad input: a header announcing 60000 bytes then silence is closed by --fastrouter-timeout 2', async () => {
    const head = Buffer.from([0, 0x60, 0xea, 0]); // datasize 60000
    const t0 = Date.now();
    const got = await rawRequest(routerPair.port!, [head, Buffer.alloc(100, 1)], { timeoutMs: 10000 });
    const elapsed = Date.now() - t0;
    assert.equal(got.length, 0);
    assert.ok(elapsed >= 1500 && elapsed < 6000, `closed after ${elapsed} ms`);
    await assertPairServes();
    const s = await pollUntil('active_sessions 0', async () => {
      const doc = await readStatsJson<FastrouterStats>(stats.pair);
      return doc.active_sessions === 0 ? doc : undefined;
    });
    assert.equal(s.active_sessions, 0);
  });

  test('bad input: a client that disconnects mid-body leaves nothing behind', async () => {
    const packet = uwsgiPacket({
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_NAME: 'localhost',
      SERVER_PORT: '80',
      HTTP_HOST: 'localhost',
      CONTENT_LENGTH: String(4 * 1024 * 1024),
    });
    for (let i = 0; i < 3; i++) {
      await writeAndVanish(routerVars.port!, [packet, randomBytes(300_000)]);
    }
    await pollUntil('active_sessions 0 after vanished clients', async () => {
      const doc = await readStatsJson<FastrouterStats>(stats.vars);
      return doc.active_sessions === 0 ? true : undefined;
    });
    assert.ok(routerVars.isRunning());
    const res = await httpGet(`http://127.0.0.1:${nginxPorts.vars}/after`, {
      headers: { 'x-route': 'uwrouter' },
    });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.text) as EchoVars).vars.PATH_INFO, '/after');
  });

  test('a backend that dies mid-request: the client connection ends, the router serves the next one', async () => {
    const pending = httpGet(`http://127.0.0.1:${nginxPorts.pattern}/?s=30`, {
      headers: { host: 'slow.example' },
      timeoutMs: 20000,
    });
    await pollUntil('the slow request reached the node', async () => {
      const doc = await readStatsJson<FastrouterStats>(stats.pattern);
      return doc.active_sessions >= 1 ? true : undefined;
    });
    const t0 = Date.now();
    await slowNode.kill();
    const res = await pending;
    assert.equal(res.status, 502, 'nginx saw the upstream close without a response');
    assert.ok(Date.now() - t0 < 5000, 'the close was relayed at once, not after a timeout');
    await pollUntil('active_sessions 0 after the dead node', async () => {
      const doc = await readStatsJson<FastrouterStats>(stats.pattern);
      return doc.active_sessions === 0 ? true : undefined;
    });
    assert.ok(routerPattern.isRunning());
    const next = await httpGet(`http://127.0.0.1:${nginxPorts.pattern}/`, { headers: { host: 'a.example' } });
    assert.equal(next.status, 200);
    assert.equal(next.text, 'pattern-a');
  });

  test('every uwrouter process is still up and logged no crash', () => {
    assert.ok(nginx.isRunning());
    for (const r of [routerPair, routerVars, routerPattern]) {
      assert.ok(r.isRunning(), `${r.name} running`);
      assert.doesNotMatch(r.logs(), /TypeError|RangeError|uncaught|unhandled/i);
    }
  });
});
