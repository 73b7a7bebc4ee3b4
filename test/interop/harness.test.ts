/**
 * Proves the interop harness against the real peers: a uWSGI node behind nginx uwsgi_pass,
 * behind the real uWSGI fastrouter, raw uwsgi packets, failure reporting, and that every
 * process is gone afterwards.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  freePort,
  httpGet,
  isProcessGone,
  liveProcesses,
  type NginxHandle,
  nginxProxyPassConf,
  nginxUwsgiPassConf,
  parseRawHttpResponse,
  processGroupMembers,
  rawRequest,
  type ServerHandle,
  ServerStartError,
  startNginx,
  startUwrouter,
  startUwsgiNode,
  startUwsgiRouter,
  uwsgiGet,
} from './harness/index.ts';

interface EchoVars {
  vars: Record<string, string>;
  body: { length: number; sha256: string };
}

describe('interop harness with real uWSGI and nginx', () => {
  let hello: ServerHandle;
  let vars: ServerHandle;
  let fastrouter: ServerHandle;
  let nginxDirect: NginxHandle;
  let nginxFr: NginxHandle;
  let whoami: ServerHandle;
  let nginxProxy: NginxHandle;
  const started: ServerHandle[] = [];

  before(async () => {
    [hello, vars, whoami] = await Promise.all([
      startUwsgiNode({ app: 'hello.py' }),
      startUwsgiNode({ app: 'echo_vars.py', unix: true }),
      startUwsgiNode({ app: 'whoami.py', protocol: 'http', name: 'node-a' }),
    ]);
    const frPort = await freePort();
    fastrouter = await startUwsgiRouter('fastrouter', [
      '--fastrouter',
      `127.0.0.1:${frPort}`,
      '--fastrouter-to',
      hello.address,
    ]);
    [nginxDirect, nginxFr, nginxProxy] = await Promise.all([
      freePort().then((p) => startNginx(nginxUwsgiPassConf(p, vars.socketPath!))),
      freePort().then((p) => startNginx(nginxUwsgiPassConf(p, fastrouter.address))),
      freePort().then((p) => startNginx(nginxProxyPassConf(p, whoami.address, { keepalive: 4 }))),
    ]);
    started.push(hello, vars, whoami, fastrouter, nginxDirect, nginxFr, nginxProxy);
  });

  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });

  test('nginx uwsgi_pass → node over a unix socket: the CGI vars arrive', async () => {
    const body = Buffer.from('x'.repeat(1000));
    const res = await httpGet(`http://127.0.0.1:${nginxDirect.port}/some/path?a=1&b=2`, {
      method: 'POST',
      headers: { 'x-probe': 'yes', 'content-type': 'text/plain' },
      body,
    });
    assert.equal(res.status, 200, res.text);
    const got = JSON.parse(res.text) as EchoVars;
    assert.equal(got.vars.REQUEST_METHOD, 'POST');
    assert.equal(got.vars.PATH_INFO, '/some/path');
    assert.equal(got.vars.QUERY_STRING, 'a=1&b=2');
    assert.equal(got.vars.REQUEST_URI, '/some/path?a=1&b=2');
    assert.equal(got.vars.HTTP_X_PROBE, 'yes');
    assert.equal(got.vars.CONTENT_TYPE, 'text/plain');
    assert.equal(got.vars.SERVER_PORT, String(nginxDirect.port));
    assert.equal(got.body.length, 1000);
    assert.equal(got.body.sha256, createHash('sha256').update(body).digest('hex'));
  });

  test('nginx uwsgi_pass → uWSGI fastrouter → node', async () => {
    const res = await httpGet(`http://127.0.0.1:${nginxFr.port}/`);
    assert.equal(res.status, 200);
    assert.equal(res.text, 'Hello World');
  });

  test('nginx proxy_pass → --http-socket node that says who it is', async () => {
    const res = await httpGet(`http://127.0.0.1:${nginxProxy.port}/`);
    assert.equal(res.status, 200);
    assert.equal(res.text, 'node-a');
    assert.match(String(res.headers['x-node-pid']), /^\d+$/);
  });

  test('a raw uwsgi packet straight to the node and to the fastrouter', async () => {
    const packet = uwsgiGet('localhost');
    for (const port of [hello.port!, fastrouter.port!]) {
      const res = parseRawHttpResponse(await rawRequest(port, packet));
      assert.ok(res, `a response from ${port}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'Hello World');
    }
  });

  test('a server that cannot start fails with its output', async () => {
    await assert.rejects(startUwsgiNode({ app: 'does-not-exist.py', waitMs: 5000 }), (err) => {
      assert.ok(err instanceof ServerStartError);
      assert.match(err.message, /did not start/);
      return true;
    });
    await assert.rejects(startUwrouter(['--version'], { entry: 'no/such/cli.ts' }), /does not exist/);
  });

  test('stop() leaves no process behind', async () => {
    const node = await startUwsgiNode({ app: 'hello.py', processes: 2 });
    const pid = node.pid;
    assert.ok(processGroupMembers(pid).length >= 3, 'master + 2 workers');
    await node.stop();
    assert.ok(isProcessGone(pid));
    assert.deepEqual(processGroupMembers(pid), []);
  });

  test('after stopping everything, every process is gone', async () => {
    const pids = started.map((s) => s.pid);
    await Promise.all(started.map((s) => s.stop()));
    for (const pid of pids) {
      assert.ok(isProcessGone(pid), `pid ${pid} is gone`);
      assert.deepEqual(processGroupMembers(pid), [], `group ${pid} is empty`);
    }
    assert.deepEqual(liveProcesses(), []);
  });
});
