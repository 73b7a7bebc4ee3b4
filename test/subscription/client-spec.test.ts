import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Subscriber } from '../../src/subscription/client.ts';
import { parseSubscribe2, parseSubscribeTo } from '../../src/subscription/client-spec.ts';

test('--subscribe-to forms', () => {
  assert.deepEqual(parseSubscribeTo('127.0.0.1:2626:example.com'), [
    { server: '127.0.0.1:2626', key: 'example.com' },
  ]);
  assert.deepEqual(parseSubscribeTo('127.0.0.1:2626:example.com:8080,5'), [
    { server: '127.0.0.1:2626', key: 'example.com:8080', modifier1: 5 },
  ]);
  assert.deepEqual(parseSubscribeTo('10.0.0.1:3031=127.0.0.1:2626:k,0,SHA256:/etc/node.pem'), [
    {
      server: '127.0.0.1:2626',
      key: 'k',
      address: '10.0.0.1:3031',
      modifier1: 0,
      sign: { digest: 'SHA256', keyFile: '/etc/node.pem' },
    },
  ]);
  assert.deepEqual(parseSubscribeTo(':2626:k'), [{ server: ':2626', key: 'k' }]);
  assert.deepEqual(parseSubscribeTo('[::1]:2626:k'), [{ server: '[::1]:2626', key: 'k' }]);
  assert.deepEqual(parseSubscribeTo('/tmp/sub.sock:k'), [{ server: '/tmp/sub.sock', key: 'k' }]);
  assert.deepEqual(parseSubscribeTo('=1=127.0.0.1:2626:k'), [
    { server: '127.0.0.1:2626', key: 'k', socketIndex: 1 },
  ]);
  for (const bad of [
    '127.0.0.1:2626',
    '127.0.0.1:2626:',
    'k',
    '127.0.0.1:2626:k,x',
    '127.0.0.1:2626:k,0,SHA256',
  ]) {
    assert.throws(() => parseSubscribeTo(bad), { code: 'UWR_ERR_CONFIG' }, bad);
  }
});

test('--subscribe-to mapping file', () => {
  const text = '# comment\nexample.com\n\nfoo.com,5\r\n';
  assert.deepEqual(
    parseSubscribeTo('127.0.0.1:2626:@/map', 'subscribe-to', () => text),
    [
      { server: '127.0.0.1:2626', key: 'example.com' },
      { server: '127.0.0.1:2626', key: 'foo.com', modifier1: 5 },
    ],
  );
  assert.throws(
    () =>
      parseSubscribeTo('127.0.0.1:2626:@/nope', 'subscribe-to', () => {
        throw new Error('ENOENT');
      }),
    /cannot read mapping file/,
  );
});

test('--subscribe2', () => {
  assert.deepEqual(
    parseSubscribe2(
      'server=127.0.0.1:2626,key=k,addr=127.0.0.1:1,weight=3,modifier1=5,modifier2=1,sign=sha1:/k.pem,check=/tmp/x,sni_key=a,sni_crt=b,sni_ca=c,backup=1',
    ),
    {
      server: '127.0.0.1:2626',
      key: 'k',
      address: '127.0.0.1:1',
      weight: 3,
      modifier1: 5,
      modifier2: 1,
      backup: 1,
      sign: { digest: 'sha1', keyFile: '/k.pem' },
      check: '/tmp/x',
      sniKey: 'a',
      sniCrt: 'b',
      sniCa: 'c',
    },
  );
  assert.throws(() => parseSubscribe2('key=k'), /server= is required/);
  assert.throws(() => parseSubscribe2('server=1.2.3.4:1'), /key= is required/);
  assert.throws(() => parseSubscribe2('server=1.2.3.4:1,key=k,colour=red'), /unknown key "colour"/);
  assert.throws(() => parseSubscribe2('server=1.2.3.4:1,key=k,modifier1=300'), /modifier1/);
});

test('Subscriber refuses unix servers, missing addresses and unreadable keys', () => {
  assert.throws(
    () => new Subscriber({ targets: [{ server: '/tmp/s.sock', key: 'k', address: '127.0.0.1:1' }] }),
    /AF_UNIX/,
  );
  assert.throws(() => new Subscriber({ targets: [{ server: '127.0.0.1:1', key: 'k' }] }), /no address/);
  assert.throws(
    () =>
      new Subscriber({
        targets: [
          { server: '127.0.0.1:1', key: 'k', address: 'a', sign: { digest: 'sha1', keyFile: '/nope.pem' } },
        ],
      }),
    /cannot load private key/,
  );
});
