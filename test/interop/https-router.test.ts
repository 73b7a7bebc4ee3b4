/**
 * uwrouter's HTTPS listeners beside uWSGI's own HTTPS router (`uwsgi --plugin http --https`),
 * both in front of real uWSGI 2.0 python3 nodes (spec: http-router.md §2, §9): the vars a
 * node receives, var by var and in wire order (and the captured `https-router-get` packet's
 * order), the client certificate vars (HTTPS_CLIENT_CERTIFICATE, HTTPS_DN, HTTPS_CC) byte
 * for byte, required and optional client certificates, the protocol versions, then what the
 * HTTP router does over TLS: keepalive, auto-chunked, auto-gzip, a 4 MiB body, wss through a
 * real uWSGI websocket app, error pages, subscription routing, http-to-https followed by curl.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { freePort, pollUntil, readStatsJson, startUwrouter, startUwsgiNode } from './harness/index.ts';
import { both, oddClient, startCaptureHop, tlsRequest, uwrouterHttps, uwsgiHttps } from './https-peers.ts';
import { ca, certs, client, curlHttps, negotiated, runTool, sClient } from './sslrouter-peers.ts';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'request', 'https-router-get.json');
/** The request that made test/fixtures/request/https-router-get.* */
const GOLDEN =
  'GET /path/x?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: golden/1.0\r\nAccept: */*\r\n\r\n';
const swap16 = (p: number) => ((p & 0xff) << 8) | (p >> 8);
const oneResponse = (t: string) => {
  const m = /content-length: *(\d+)/i.exec(t);
  const sep = t.indexOf('\r\n\r\n');
  return m !== null && sep >= 0 && t.length >= sep + 4 + Number(m[1]);
};

describe('HTTPS: the vars a uwsgi node receives, uwrouter beside uWSGI', () => {
  test('the same vars in the same order as uWSGI’s HTTPS router and its captured packet', async () => {
    const node = await startUwsgiNode({ app: 'echo_vars.py' });
    const hop = await startCaptureHop(node);
    const ours = await uwrouterHttps(['--http-to', hop.address]);
    const theirs = await uwsgiHttps(['--http-to', hop.address]);
    const local: Record<string, number> = {};
    for (const [label, r] of both(ours, theirs)) {
      const res = await tlsRequest(r.port, GOLDEN, { until: oneResponse });
      assert.match(res.text, /^HTTP\/1\.1 200 OK/, `${label}: ${res.error} ${res.text}`);
      local[label] = res.localPort;
    }
    const [mine, ref] = hop.packets;
    assert.deepEqual(mine.keys, ref.keys, 'wire order');
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { vars: Array<{ key: string }> };
    assert.deepEqual(
      mine.keys,
      fixture.vars.map((v) => v.key),
      'the order of the captured https-router-get packet',
    );
    for (const k of mine.keys) {
      const a = mine.vars.get(k)!.toString('latin1');
      const b = ref.vars.get(k)!.toString('latin1');
      if (k === 'SERVER_PORT') {
        assert.deepEqual([a, b], [String(ours.port), String(theirs.port)]);
      } else if (k === 'REMOTE_PORT') {
        // uWSGI sends the port byte-swapped (corerouter.md §9); uwrouter the real one
        assert.deepEqual([a, b], [String(local.uwrouter), String(swap16(local.uwsgi))]);
      } else assert.equal(a, b, k);
    }
    assert.equal(mine.vars.get('HTTPS')?.toString(), 'on');
  });

  test('client certificate vars byte for byte: DER, one-line subject with escapes, PEM with --https-export-cert', async () => {
    const node = await startUwsgiNode({ app: 'echo_vars.py' });
    const hop = await startCaptureHop(node);
    const args = ['--http-to', hop.address, '--https-export-cert'];
    const ours = await uwrouterHttps(args, `,,${ca.crt}`);
    const theirs = await uwsgiHttps(args, `,,${ca.crt}`);
    for (const [label, r] of both(ours, theirs)) {
      const res = await tlsRequest(r.port, GOLDEN, { cert: oddClient, until: oneResponse });
      assert.match(res.text, /^HTTP\/1\.1 200 OK/, `${label}: ${res.error} ${res.text}`);
    }
    const [mine, ref] = hop.packets;
    assert.deepEqual(mine.keys, ref.keys);
    const at = mine.keys.indexOf('HTTPS');
    assert.deepEqual(mine.keys.slice(at, at + 5), [
      'HTTPS',
      'HTTPS_CLIENT_CERTIFICATE',
      'HTTPS_DN',
      'HTTPS_CC',
      'REMOTE_ADDR',
    ]);
    for (const k of ['HTTPS_CLIENT_CERTIFICATE', 'HTTPS_DN', 'HTTPS_CC']) {
      assert.deepEqual(mine.vars.get(k), ref.vars.get(k), k);
    }
    const x509 = new X509Certificate(readFileSync(oddClient.crt));
    assert.deepEqual(mine.vars.get('HTTPS_CLIENT_CERTIFICATE'), x509.raw);
    assert.equal(
      mine.vars.get('HTTPS_DN')?.toString('latin1'),
      // a multi-valued RDN is a DER SET: its attributes come sorted by encoding (OU before O)
      '/C=IT/OU=x+O=A\\/B/CN=na\\xC3\\xAFve+UID=7',
    );
    // the node (a real WSGI app) sees the subject too
    const seen = await tlsRequest(ours.port, 'GET / HTTP/1.0\r\n\r\n', { cert: client });
    const vars = (
      JSON.parse(seen.text.slice(seen.text.indexOf('\r\n\r\n') + 4)) as { vars: Record<string, string> }
    ).vars;
    assert.equal(vars.HTTPS_DN, '/CN=interop client');
    assert.equal(vars.HTTPS, 'on');
  });

  test('client certificates: "!" = required, else optional but verified — both routers alike', async () => {
    const node = await startUwsgiNode({ app: 'hello.py' });
    const to = ['--http-to', node.address];
    const routers = {
      uwrouter: {
        required: await uwrouterHttps(to, `,,!${ca.crt}`),
        optional: await uwrouterHttps(to, `,,${ca.crt}`),
      },
      uwsgi: {
        required: await uwsgiHttps(to, `,,!${ca.crt}`),
        optional: await uwsgiHttps(to, `,,${ca.crt}`),
      },
    };
    const withCert = ['--cert', client.crt, '--key', client.key];
    for (const [label, r] of Object.entries(routers)) {
      const none = await curlHttps(r.required.port);
      assert.notEqual(none.code, 0, `${label}: required, none sent`);
      assert.equal(none.stdout, '');
      assert.equal((await curlHttps(r.required.port, { args: withCert })).stdout, 'Hello World', label);
      assert.equal((await curlHttps(r.optional.port)).stdout, 'Hello World', `${label}: optional, none`);
      assert.equal((await curlHttps(r.optional.port, { args: withCert })).stdout, 'Hello World', label);
    }
  });

  test('TLS 1.3 and 1.2 negotiated, TLS 1.0 refused, by both routers', async () => {
    const node = await startUwsgiNode({ app: 'hello.py' });
    const ours = await uwrouterHttps(['--http-to', node.address]);
    const theirs = await uwsgiHttps(['--http-to', node.address]);
    const request = 'GET / HTTP/1.0\r\nHost: x\r\n\r\n';
    for (const [label, r] of both(ours, theirs)) {
      const t13 = await sClient(r.port, ['-tls1_3'], request);
      assert.equal(negotiated(t13)?.version, 'TLSv1.3', `${label}: ${t13.stdout}${t13.stderr}`);
      assert.match(t13.stdout, /Hello World/, label);
      const t12 = await sClient(r.port, ['-tls1_2'], request);
      assert.equal(negotiated(t12)?.version, 'TLSv1.2', label);
      assert.match(t12.stdout, /Hello World/, label);
      const t10 = await sClient(r.port, ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0'], request);
      assert.equal(negotiated(t10), null, `${label}: TLS 1.0`);
      assert.doesNotMatch(t10.stdout, /Hello World/);
    }
  });
});

describe('HTTPS: the HTTP router’s features over TLS (uwrouter, real uWSGI nodes)', () => {
  test('keepalive, auto-chunked, auto-gzip and a 4 MiB body through curl', async () => {
    const [body, nolength, gzip] = await Promise.all([
      startUwsgiNode({ app: 'echo_body.py' }),
      startUwsgiNode({ app: 'nolength.py' }),
      startUwsgiNode({ app: 'gzip_hint.py' }),
    ]);
    const opts = ['--http-keepalive', '--http-auto-chunked', '--http-auto-gzip'];
    const ka = await uwrouterHttps(['--http-to', nolength.address, ...opts]);
    // three requests, one TLS connection; responses without a length arrive chunked
    const three = await curlHttps(ka.port, {
      args: [
        ...['-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null'],
        ...['-w', '%{num_connects} %{http_code}\\n'],
        `https://localhost:${ka.port}/2`,
        `https://localhost:${ka.port}/3`,
      ],
    });
    assert.equal(three.code, 0, three.stderr);
    assert.deepEqual(three.stdout.trim().split('\n'), ['1 200', '0 200', '0 200']);
    const chunked = await tlsRequest(ka.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', {
      until: (t) => t.endsWith('0\r\n\r\n'),
    });
    assert.match(chunked.text, /\r\nTransfer-Encoding: chunked\r\n/i);

    const gz = await uwrouterHttps(['--http-to', gzip.address, ...opts]);
    const raw = await tlsRequest(gz.port, 'GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n', {
      until: (t) => t.endsWith('0\r\n\r\n'),
    });
    assert.match(raw.text, /\r\nContent-Encoding: gzip\r\n/i);
    const compressed = await curlHttps(gz.port, { args: ['--compressed'] });
    assert.equal(compressed.code, 0, compressed.stderr);
    const plain = await tlsRequest(gz.port, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    // without Accept-Encoding the same body comes uncompressed
    assert.doesNotMatch(plain.text, /Content-Encoding/i);
    assert.equal(compressed.stdout, plain.text.slice(plain.text.indexOf('\r\n\r\n') + 4));
    assert.equal(compressed.stdout.length, 200 * 54);

    const up = await uwrouterHttps(['--http-to', body.address]);
    const big = randomBytes(4 << 20);
    const file = certs.path('https-body.bin');
    writeFileSync(file, big);
    const post = await curlHttps(up.port, {
      args: ['--data-binary', `@${file}`, '-H', 'Content-Type: application/octet-stream'],
      timeoutMs: 30_000,
    });
    assert.equal(post.code, 0, post.stderr);
    assert.equal(
      createHash('sha256').update(post.stdout, 'latin1').digest('hex'),
      createHash('sha256').update(big).digest('hex'),
    );
  });

  test('wss: a real uWSGI websocket app echoes through both routers', async () => {
    const node = await startUwsgiNode({ app: 'ws_echo.py', processes: 2 });
    const ours = await uwrouterHttps(['--http-to', node.address, '--http-websockets']);
    const theirs = await uwsgiHttps(['--http-to', node.address, '--http-websockets']);
    for (const [label, r] of both(ours, theirs)) {
      const ws = new WebSocket(`wss://localhost:${r.port}/ws`, { ca: readFileSync(ca.crt) });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const echoes: string[] = [];
      ws.on('message', (m) => echoes.push(String(m)));
      for (const m of ['one', 'two', 'x'.repeat(70_000)]) ws.send(m);
      await pollUntil(`${label} echoes`, () => (echoes.length === 3 ? true : undefined));
      assert.deepEqual(
        echoes.map((e) => e.length),
        [3, 3, 70_000],
        label,
      );
      ws.close();
    }
  });

  test('error pages over TLS: 502 for a dead node (uWSGI closes without a word), 404 for an unknown host', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const ours = await uwrouterHttps(['--http-to', dead]);
    const theirs = await uwsgiHttps(['--http-to', dead]);
    const mine = await tlsRequest(ours.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(mine.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    const ref = await tlsRequest(theirs.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(ref.text, '');
    const [sub, stats] = [await freePort(), await freePort()];
    const routed = await uwrouterHttps([
      '--http-subscription-server',
      `127.0.0.1:${sub}`,
      '--http-stats',
      `127.0.0.1:${stats}`,
    ]);
    const node = await startUwsgiNode({
      app: 'whoami.py',
      name: 'sub-node',
      args: ['--subscribe-to', `127.0.0.1:${sub}:app.example`],
    });
    await pollUntil(
      'subscribed',
      async () =>
        ((await readStatsJson<{ subscriptions?: unknown[] }>(stats)).subscriptions?.length ?? 0) > 0
          ? true
          : undefined,
      { retryErrors: true },
    );
    const hit = await tlsRequest(routed.port, 'GET / HTTP/1.1\r\nHost: app.example\r\n\r\n', {
      until: (t) => t.endsWith('sub-node'),
    });
    assert.match(hit.text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*sub-node$/);
    const miss = await tlsRequest(routed.port, 'GET / HTTP/1.1\r\nHost: nobody.example\r\n\r\n');
    assert.match(miss.text, /^HTTP\/1\.1 404 Not Found\r\n/);
    await node.stop();
  });

  test('http-to-https: curl -L follows the 301 to the HTTPS listener', async () => {
    const node = await startUwsgiNode({ app: 'hello.py' });
    const [tls, plain] = [await freePort(), await freePort()];
    const { dflt } = await import('./sslrouter-peers.ts');
    await startUwrouter(
      [
        '--https',
        `127.0.0.1:${tls},${dflt.crt},${dflt.key}`,
        '--http-to-https',
        `127.0.0.1:${plain},${tls}`,
        '--http-to',
        node.address,
      ],
      { port: tls },
    );
    const r = await runTool('curl', [
      '-sS',
      '-L',
      '--max-time',
      '8',
      '--cacert',
      ca.crt,
      '-w',
      '\n%{url_effective}',
      `http://localhost:${plain}/page?q=1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n'), ['Hello World', `https://localhost:${tls}/page?q=1`]);
  });
});
