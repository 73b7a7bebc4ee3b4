/**
 * HTTPS_DN: x509SubjectOneline against what OpenSSL's X509_NAME_oneline printed for real
 * certificates (test/fixtures/x509/README.md), and malformed input.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { x509SubjectOneline } from '../../src/protocol/x509-name.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'x509');
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith('.pem'))
  .map((f) => f.slice(0, -4));

const der = (name: string): Buffer => new X509Certificate(readFileSync(join(DIR, `${name}.pem`))).raw;
const expected = (name: string): string =>
  readFileSync(join(DIR, `${name}.oneline.txt`), 'latin1').replace(/\n$/, '');

test('every fixture: the same string as OpenSSL X509_NAME_oneline', () => {
  assert.equal(NAMES.length, 6);
  for (const name of NAMES) assert.equal(x509SubjectOneline(der(name)), expected(name), name);
});

test('escapes: control and 8-bit bytes as upper-case \\xHH, "/" and "+" behind a backslash', () => {
  assert.equal(
    x509SubjectOneline(der('utf8-escapes')),
    '/C=IT/ST=Toscana/L=Firenze/O=A\\/B=C, D/CN=na\\xC3\\xAFve \\xE2\\x82\\xAC/emailAddress=a@b.c',
  );
  assert.match(expected('bmpstring-unknown-oid'), /\/1\.2\.3\.4\.5=/);
  assert.match(x509SubjectOneline(der('multivalue-dc')) ?? '', /^\/CN=a\+UID=7\//);
});

test('not a certificate, or cut anywhere: null, never a throw', () => {
  const d = der('utf8-escapes');
  assert.equal(x509SubjectOneline(Buffer.alloc(0)), null);
  assert.equal(x509SubjectOneline(Buffer.from('not DER at all')), null);
  for (let n = 0; n < d.length; n++) {
    // a prefix that ends before the subject is complete cannot be read
    const r = x509SubjectOneline(d.subarray(0, n));
    assert.equal(r, null, `prefix of ${n} bytes`);
  }
});

test('an attribute type that is not an OID: null', () => {
  const d = der('multivalue-dc');
  // self-signed: the issuer holds the same name; the last CN OID (06 03 55 04 03) is the subject's
  const at = d.lastIndexOf(Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]));
  assert.ok(at > d.indexOf(Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03])), 'the subject CN is found');
  const bad = Buffer.from(d);
  bad[at] = 0x02; // an INTEGER where the attribute's OID is
  assert.equal(x509SubjectOneline(bad), null);
  assert.equal(x509SubjectOneline(d), expected('multivalue-dc'));
});
