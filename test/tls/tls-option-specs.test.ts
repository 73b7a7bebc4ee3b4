import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { parseSniItem, parseTlsListen, parseTlsListen2 } from '../../src/tls/tls-option-specs.ts';

const file = (path: string) => ({ kind: 'file', path });

test('--https / --sslrouter ADDR,CRT,KEY[,CIPHERS[,CLIENT_CA]]', () => {
  for (const option of ['https', 'sslrouter']) {
    const a = parseTlsListen(option, '0.0.0.0:443,/etc/a.crt,/etc/a.key', false);
    assert.equal(a.option, option);
    assert.equal(a.address, '0.0.0.0:443');
    assert.deepEqual(a.certificate.pairs, [{ cert: file('/etc/a.crt'), key: file('/etc/a.key') }]);
    assert.equal(a.certificate.ciphers, undefined);
    assert.equal(a.certificate.clientCa, undefined);
    assert.equal(a.certificate.clientCert, 'none');
    assert.equal(a.certificate.label, '0.0.0.0:443');
  }
  const b = parseTlsListen('https', '[::1]:8443,a.crt,a.key,HIGH:!aNULL', false);
  assert.equal(b.address, '[::1]:8443');
  assert.equal(b.certificate.ciphers, 'HIGH:!aNULL');
  const c = parseTlsListen('https', ':443,a.crt,a.key,,ca.crt', false);
  assert.equal(c.certificate.ciphers, undefined, 'an empty CIPHERS field is the default list');
  assert.deepEqual(c.certificate.clientCa, file('ca.crt'));
  assert.equal(c.certificate.clientCert, 'optional');
  const d = parseTlsListen('https', ':443,a.crt,a.key,HIGH,!ca.crt', false);
  assert.equal(d.certificate.clientCert, 'required');
  assert.deepEqual(d.certificate.clientCa, file('ca.crt'));
  // uWSGI splits at the first three commas: CLIENT_CA keeps the rest
  const e = parseTlsListen('https', ':443,a.crt,a.key,HIGH,/etc/ca,with,commas.pem', false);
  assert.deepEqual(e.certificate.clientCa, file('/etc/ca,with,commas.pem'));
  for (const bad of [
    ':443',
    ':443,a.crt',
    ',a.crt,a.key',
    ':443,,a.key',
    ':443,a.crt,',
    ':443,a.crt,a.key,,!',
  ]) {
    assert.throws(() => parseTlsListen('https', bad, false), ConfigError, bad);
  }
  assert.throws(() => parseTlsListen('https', ':443', false), /--https ":443": expected ADDR,CRT,KEY/);
});

test('inline PEM only with --ssl-tmp-dir, as in uWSGI', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const key = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
  assert.throws(
    () => parseTlsListen('https', `:443,${pem},${key}`, false),
    /inline PEM is only accepted with --ssl-tmp-dir/,
  );
  const r = parseTlsListen('https', `:443,${pem},${key},,!${pem}`, true);
  assert.deepEqual(r.certificate.pairs[0].cert, { kind: 'inline', pem });
  assert.deepEqual(r.certificate.pairs[0].key, { kind: 'inline', pem: key });
  assert.deepEqual(r.certificate.clientCa, { kind: 'inline', pem });
  assert.equal(r.certificate.clientCert, 'required');
});

test('--https2 / --sslrouter2 key=value forms', () => {
  const a = parseTlsListen2(
    'https2',
    'addr=:443,cert=a.crt,key=a.key,ciphers=HIGH,clientca=!ca.pem,spdy=1',
    false,
  );
  assert.equal(a.address, ':443');
  assert.deepEqual(a.certificate.pairs, [{ cert: file('a.crt'), key: file('a.key') }]);
  assert.equal(a.certificate.ciphers, 'HIGH');
  assert.deepEqual(a.certificate.clientCa, file('ca.pem'));
  assert.equal(a.certificate.clientCert, 'required');
  assert.equal(a.spdy, true);
  const b = parseTlsListen2('sslrouter2', 'addr=:9443,crt=b.crt,key=b.key,client_ca=ca.pem', false);
  assert.equal(b.spdy, undefined);
  assert.deepEqual(b.certificate.pairs[0].cert, file('b.crt'));
  assert.equal(b.certificate.clientCert, 'optional');
  // uWSGI's kvlist escapes: "\," is a comma inside a value
  const c = parseTlsListen2('https2', 'addr=:443,cert=/x\\,y.crt,key=k', false);
  assert.deepEqual(c.certificate.pairs[0].cert, file('/x,y.crt'));
  assert.throws(
    () => parseTlsListen2('https2', 'addr=:443,cert=a,key=b,ciphres=HIGH', false),
    /unknown item "ciphres=HIGH"/,
  );
  assert.throws(
    () => parseTlsListen2('sslrouter2', 'addr=:443,cert=a,key=b,spdy=1', false),
    /unknown item "spdy=1"/,
  );
  assert.throws(() => parseTlsListen2('https2', 'addr=:443,cert=a', false), /needs addr, cert and key/);
  assert.throws(() => parseTlsListen2('https2', 'addr=:443,cert=a,key', false), /"key" needs a value/);
});

test('--sni "NAME CRT,KEY[,CIPHERS[,CLIENT_CA]]": names normalised like ClientHello names', () => {
  const a = parseSniItem('sni', 'WWW.Example.COM. a.crt,a.key', false);
  assert.equal(a.name, 'www.example.com');
  assert.equal(a.certificate.label, 'www.example.com');
  assert.deepEqual(a.certificate.pairs, [{ cert: file('a.crt'), key: file('a.key') }]);
  const b = parseSniItem('sni', '.example.com a.crt,a.key,ECDHE-RSA-AES128-GCM-SHA256,!ca.crt', false);
  assert.equal(b.name, '.example.com', 'the dotsplit form is a name');
  assert.equal(b.certificate.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.equal(b.certificate.clientCert, 'required');
  assert.throws(
    () => parseSniItem('sni', '*.example.com a.crt,a.key', false),
    /wildcards are not; use --sni-regexp/,
  );
  assert.throws(() => parseSniItem('sni', 'a.crt,a.key', false), /a space after the name/);
  assert.throws(() => parseSniItem('sni', 'bad/name a.crt,a.key', false), /"bad\/name" is not a host name/);
  assert.throws(() => parseSniItem('sni', 'a..b a.crt,a.key', false), /is not a host name/);
  assert.throws(() => parseSniItem('sni', 'a.example a.crt', false), ConfigError);
});

test('--sni-regexp "REGEXP CRT,KEY…": the pattern must compile', () => {
  const a = parseSniItem('sni-regexp', '^(www\\.)?shop[0-9]+\\.example$ s.crt,s.key', false);
  assert.equal(a.name, '^(www\\.)?shop[0-9]+\\.example$');
  assert.throws(
    () => parseSniItem('sni-regexp', '([a-z] s.crt,s.key', false),
    /not a valid regular expression/,
  );
});
