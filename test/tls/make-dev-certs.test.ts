import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { ListenerTls } from '../../src/tls/listener-tls.ts';
import { parseTlsListen } from '../../src/tls/tls-option-specs.ts';
import { DEFAULT_TLS_SETTINGS } from '../../src/tls/tls-settings.ts';
import { captureLogger, makeRegistry } from './registry-harness.ts';
import { TestCerts } from './test-certs.ts';
import { startTlsTestServer, tlsClient } from './tls-server-harness.ts';

const SCRIPT = join(import.meta.dirname, '..', '..', 'certs', 'make-dev-certs.sh');
const dir = join(new TestCerts('dev-certs').dir, 'dev');
const run = () => execFileSync('bash', [SCRIPT, dir], { encoding: 'utf8' });
const cert = (name: string) => new X509Certificate(readFileSync(join(dir, name)));
const snapshot = () =>
  Object.fromEntries(
    ['ca.crt', 'ca.key', 'localhost.crt', 'localhost.key', 'localhost.ecdsa.crt', 'localhost.ecdsa.key'].map(
      (f) => [f, readFileSync(join(dir, f), 'latin1')],
    ),
  );

const firstRun = run();
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers) await c();
});

test('a CA and localhost RSA-2048 + ECDSA P-256 leaves it signed, keys 0600', () => {
  assert.match(firstRun, /made .*ca\.crt/);
  const ca = cert('ca.crt');
  assert.ok(ca.ca);
  for (const [name, type] of [
    ['localhost.crt', 'rsa'],
    ['localhost.ecdsa.crt', 'ec'],
  ] as const) {
    const leaf = cert(name);
    assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(leaf.publicKey.asymmetricKeyType, type);
    if (type === 'rsa') assert.equal(leaf.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    else assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), `${name} is signed by the CA`);
    assert.equal(leaf.ca, false);
  }
  for (const key of ['ca.key', 'localhost.key', 'localhost.ecdsa.key']) {
    assert.equal(statSync(join(dir, key)).mode & 0o777, 0o600, key);
  }
});

test('idempotent: a second run changes nothing; a missing leaf is remade alone', () => {
  const before = snapshot();
  assert.equal(run(), '');
  assert.deepEqual(snapshot(), before);
  rmSync(join(dir, 'localhost.ecdsa.crt'));
  assert.match(run(), /^make-dev-certs: made .*localhost\.ecdsa\.crt \(ec\)\n$/);
  const after = snapshot();
  assert.equal(after['ca.crt'], before['ca.crt']);
  assert.equal(after['localhost.crt'], before['localhost.crt']);
  assert.notEqual(after['localhost.ecdsa.crt'], before['localhost.ecdsa.crt']);
  assert.ok(cert('localhost.ecdsa.crt').verify(cert('ca.crt').publicKey));
});

test('the directory works as an --sni-dir and as a listener certificate; clients trusting the CA verify it', async () => {
  const { registry } = makeRegistry({ sniDir: dir });
  const listener = ListenerTls.create(
    parseTlsListen('https', `127.0.0.1:0,${join(dir, 'localhost.crt')},${join(dir, 'localhost.key')}`, false),
    { settings: DEFAULT_TLS_SETTINGS, registry, sessionIdContext: 'dev', log: captureLogger().log },
  );
  const server = await startTlsTestServer(listener);
  closers.push(server.close);
  const ca = readFileSync(join(dir, 'ca.crt'));
  const byName = await tlsClient(server.port, { servername: 'localhost', ca, rejectUnauthorized: true });
  assert.equal(byName.ok, true, byName.error);
  assert.equal(byName.line, 'sni-dir localhost');
  assert.equal(byName.keyType, 'ec');
  const byIp = await tlsClient(server.port, { ca, rejectUnauthorized: true });
  assert.equal(byIp.ok, true, byIp.error);
  assert.equal(byIp.line, 'listener 127.0.0.1:0');
  assert.equal(byIp.keyType, 'rsa');
});

test('npm start makes the certificates first, and examples/default.ini serves HTTPS with them from any directory', () => {
  const root = join(import.meta.dirname, '..', '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  assert.match(
    pkg.scripts.start,
    /^bash certs\/make-dev-certs\.sh && node .* dist\/cli\.js examples\/default\.ini$/,
  );
  const { config } = loadConfig([join(root, 'examples', 'default.ini')], {});
  const [https, ...more] = config.all('https');
  assert.deepEqual(more, []);
  const spec = parseTlsListen('https', https, false);
  assert.equal(spec.address, '127.0.0.1:8443');
  const [pair] = spec.certificate.pairs;
  assert.deepEqual(
    [pair.cert, pair.key].map((p) => (p.kind === 'file' ? normalize(p.path) : p.kind)),
    [join(root, 'certs', 'dev', 'localhost.crt'), join(root, 'certs', 'dev', 'localhost.key')],
  );
});
