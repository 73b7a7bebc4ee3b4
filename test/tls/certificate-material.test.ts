import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  type CertificateSpec,
  filesStamp,
  loadCertificateMaterial,
  type MaterialResult,
} from '../../src/tls/certificate-material.ts';
import { TestCerts } from './test-certs.ts';

const certs = new TestCerts('material');
const ca = certs.ca();
const ec = certs.leaf(ca, 'a.example');
const rsa = certs.leaf(ca, 'a.example', { kind: 'rsa' });
const other = certs.leaf(ca, 'b.example');
const expired = certs.leaf(ca, 'old.example', {
  notBefore: new Date('2020-01-01T00:00:00Z'),
  notAfter: new Date('2020-02-01T00:00:00Z'),
});
const future = certs.leaf(ca, 'new.example', {
  notBefore: new Date(Date.now() + 10 * 86400_000),
  notAfter: new Date(Date.now() + 40 * 86400_000),
});

const f = (path: string) => ({ kind: 'file' as const, path });

function spec(pairs: Array<{ crt: string; key: string }>, clientCa?: string): CertificateSpec {
  return {
    label: 'a.example',
    pairs: pairs.map((p) => ({ cert: f(p.crt), key: f(p.key) })),
    ciphers: undefined,
    clientCa: clientCa === undefined ? undefined : f(clientCa),
    clientCert: clientCa === undefined ? 'none' : 'optional',
  };
}

function failure(r: MaterialResult): string {
  assert.equal(r.ok, false, 'expected a failure');
  return r.ok ? '' : `${r.file}: ${r.reason}`;
}

test('a good pair loads: PEM, key type, expiry, stamp', () => {
  const r = loadCertificateMaterial(spec([ec]));
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.material.pairs.length, 1);
  assert.equal(r.material.pairs[0].keyType, 'ec');
  assert.ok(r.material.pairs[0].notAfter > Date.now());
  assert.equal(r.material.bytes, r.material.pairs[0].certPem.length + r.material.pairs[0].keyPem.length);
  assert.equal(r.material.stamp, filesStamp(spec([ec])));
  assert.notEqual(r.material.stamp, '');
});

test('an RSA and an ECDSA pair for one name load together; two of one type do not', () => {
  const r = loadCertificateMaterial(spec([rsa, ec]));
  assert.ok(r.ok);
  if (r.ok)
    assert.deepEqual(
      r.material.pairs.map((p) => p.keyType),
      ['rsa', 'ec'],
    );
  assert.match(
    failure(loadCertificateMaterial(spec([ec, other]))),
    /b\.example\.ecdsa\.crt: a second ec certificate/,
  );
});

test('each bad file is named with what is wrong with it', () => {
  const missing = certs.path('missing.crt');
  assert.equal(
    failure(loadCertificateMaterial(spec([{ crt: missing, key: ec.key }]))),
    `${missing}: cannot read it (ENOENT)`,
  );
  const notCert = certs.file('not-a-cert.crt', 'hello\n');
  assert.match(
    failure(loadCertificateMaterial(spec([{ crt: notCert, key: ec.key }]))),
    /not-a-cert\.crt: is not a PEM certificate/,
  );
  const broken = certs.file('broken.crt', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  assert.match(
    failure(loadCertificateMaterial(spec([{ crt: broken, key: ec.key }]))),
    /broken\.crt: holds a certificate that does not parse/,
  );
  // the key file given as the certificate
  assert.match(
    failure(loadCertificateMaterial(spec([{ crt: ec.key, key: ec.key }]))),
    /\.key: is not a PEM certificate/,
  );
  // the certificate given as the key
  assert.match(
    failure(loadCertificateMaterial(spec([{ crt: ec.crt, key: ec.crt }]))),
    /\.crt: is not an unencrypted PEM private key/,
  );
  assert.equal(
    failure(loadCertificateMaterial(spec([{ crt: ec.crt, key: other.key }]))),
    `${other.key}: private key does not match the certificate ${ec.crt}`,
  );
  // an RSA key beside an EC certificate: OpenSSL would take it silently
  assert.match(
    failure(loadCertificateMaterial(spec([{ crt: ec.crt, key: rsa.key }]))),
    /does not match the certificate/,
  );
  assert.match(
    failure(loadCertificateMaterial(spec([expired]))),
    /old\.example\.ecdsa\.crt: certificate expired on 2020-02-01T00:00:00\.000Z/,
  );
  assert.match(
    failure(loadCertificateMaterial(spec([future]))),
    /new\.example\.ecdsa\.crt: certificate is not valid before/,
  );
  assert.match(
    failure(loadCertificateMaterial(spec([ec], notCert))),
    /not-a-cert\.crt: is not a PEM certificate/,
  );
});

test('expiry is judged at the time given', () => {
  const notAfter = new Date('2020-02-01T00:00:00Z').getTime();
  assert.ok(loadCertificateMaterial(spec([expired]), notAfter - 1000).ok);
  assert.equal(loadCertificateMaterial(spec([expired]), notAfter + 1000).ok, false);
});

test('an encrypted key is refused (uWSGI would prompt on the terminal)', () => {
  const enc = certs.path('encrypted.key');
  execFileSync('openssl', ['pkey', '-in', ec.key, '-aes256', '-passout', 'pass:secret', '-out', enc]);
  assert.match(
    failure(loadCertificateMaterial(spec([{ crt: ec.crt, key: enc }]))),
    /encrypted\.key: is not an unencrypted PEM private key/,
  );
});

test('a CRT file may also hold DH parameters or the key; only certificates reach the context', () => {
  const combined = certs.file(
    'combined.pem',
    `${readFileSync(ec.crt, 'latin1')}-----BEGIN DH PARAMETERS-----\nMAgCAQACAQI=\n-----END DH PARAMETERS-----\n${readFileSync(ec.key, 'latin1')}`,
  );
  const r = loadCertificateMaterial(spec([{ crt: combined, key: combined }]));
  assert.ok(r.ok, r.ok ? '' : r.reason);
  if (!r.ok) return;
  assert.equal(r.material.pairs[0].certPem.includes('PARAMETERS'), false);
  assert.equal(r.material.pairs[0].certPem.includes('PRIVATE KEY'), false);
});

test('the files stamp changes when a file changes or disappears', () => {
  const copy = certs.file('copy.crt', readFileSync(ec.crt, 'latin1'));
  const s = spec([{ crt: copy, key: ec.key }]);
  const before = filesStamp(s);
  writeFileSync(copy, `${readFileSync(other.crt, 'latin1')}\n`);
  assert.notEqual(filesStamp(s), before);
  assert.match(filesStamp(spec([{ crt: certs.path('gone.crt'), key: ec.key }])), /^-;/);
});
