import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SecureContext } from 'node:tls';
import { buildSecureContext, estimatedContextBytes } from '../../src/tls/build-secure-context.ts';
import { type CertificateMaterial, loadCertificateMaterial } from '../../src/tls/certificate-material.ts';
import { SecureContextStore } from '../../src/tls/secure-context-store.ts';
import { DEFAULT_TLS_SETTINGS } from '../../src/tls/tls-settings.ts';
import { TestCerts } from './test-certs.ts';

/** Stand-in material: the store only uses its identity and the estimate. */
function material(label: string, bytes = 1000): CertificateMaterial {
  return {
    spec: { label, pairs: [], ciphers: undefined, clientCa: undefined, clientCert: 'none' },
    pairs: [],
    clientCaPem: undefined,
    bytes,
    stamp: '',
  };
}

function fakeStore(maxContexts: number, maxBytes: number, clock = { t: 0 }) {
  const built: string[] = [];
  const store = new SecureContextStore({
    maxContexts,
    maxBytes,
    build: (m, sid) => {
      built.push(`${m.spec.label}@${sid}`);
      return { label: m.spec.label } as unknown as SecureContext;
    },
    estimate: (m) => m.bytes,
    now: () => clock.t,
  });
  return { store, built, clock };
}

test('builds lazily, once, and returns the held context on later calls', () => {
  const { store, built } = fakeStore(10, 1e9);
  const a = material('a');
  assert.equal(store.size, 0);
  const c1 = store.get(a, 'sid-a');
  const c2 = store.get(a, 'sid-a');
  assert.equal(c1, c2);
  assert.deepEqual(built, ['a@sid-a']);
  assert.deepEqual(store.stats, { builds: 1, hits: 1, evictions: 0 });
});

test('over the count bound the least recently used context goes first', () => {
  const { store, built } = fakeStore(3, 1e9);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((l) => material(l));
  store.get(a, 'a');
  store.get(b, 'b');
  store.get(c, 'c');
  store.get(a, 'a'); // a is now the most recent: b is the coldest
  store.get(d, 'd');
  assert.equal(store.size, 3);
  assert.equal(store.has(b), false);
  assert.ok(store.has(a) && store.has(c) && store.has(d));
  assert.equal(store.stats.evictions, 1);
  // an evicted context is rebuilt on demand
  store.get(b, 'b');
  assert.equal(built.filter((x) => x === 'b@b').length, 2);
  assert.equal(store.has(c), false, 'c was the coldest then');
});

test('over the byte bound contexts are evicted coldest first; the newest always stays', () => {
  const { store } = fakeStore(100, 2500);
  const a = material('a', 1000);
  const b = material('b', 1000);
  const big = material('big', 2000);
  store.get(a, 'a');
  store.get(b, 'b');
  assert.equal(store.bytes, 2000);
  store.get(big, 'big');
  assert.equal(store.has(a), false);
  assert.equal(store.has(b), false, 'both had to go to fit 2000 + 2000 > 2500, then 2000 fits');
  assert.equal(store.bytes, 2000);
  const huge = material('huge', 10_000);
  store.get(huge, 'huge');
  assert.ok(store.has(huge), 'a context larger than the bound is still served');
  assert.equal(store.size, 1);
  assert.equal(store.bytes, 10_000);
});

test('forget drops a replaced context and its bytes; idle contexts are evicted by age', () => {
  const { store, clock } = fakeStore(10, 1e9);
  const a = material('a', 100);
  const b = material('b', 200);
  store.get(a, 'a');
  clock.t = 1000;
  store.get(b, 'b');
  store.forget(a);
  assert.equal(store.has(a), false);
  assert.equal(store.bytes, 200);
  store.forget(a); // twice is harmless
  assert.equal(store.bytes, 200);
  const c = material('c', 50);
  clock.t = 5000;
  store.get(c, 'c');
  clock.t = 7000;
  assert.equal(store.evictIdle(3000), 1, 'b was last used at 1000');
  assert.ok(store.has(c));
  assert.equal(store.has(b), false);
  assert.equal(store.bytes, 50);
});

test('a build that throws stores nothing', () => {
  const store = new SecureContextStore({
    maxContexts: 5,
    maxBytes: 1e9,
    build: () => {
      throw new Error('no cipher match');
    },
    estimate: () => 1,
  });
  assert.throws(() => store.get(material('x'), 'x'), /no cipher match/);
  assert.equal(store.size, 0);
  assert.equal(store.bytes, 0);
});

test('real contexts: the estimate follows the PEM size, the session id context is bounded', () => {
  const certs = new TestCerts('store');
  const ca = certs.ca();
  const ec = certs.leaf(ca, 'a.example');
  const r = loadCertificateMaterial({
    label: 'a.example',
    pairs: [{ cert: { kind: 'file', path: ec.crt }, key: { kind: 'file', path: ec.key } }],
    ciphers: undefined,
    clientCa: undefined,
    clientCert: 'none',
  });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(estimatedContextBytes(r.material), 24 * 1024 + 3 * r.material.bytes);
  // OpenSSL refuses session id contexts over 32 bytes; a long SNI name must still work
  const ctx = buildSecureContext(r.material, DEFAULT_TLS_SETTINGS, 'x'.repeat(255));
  assert.ok(ctx.context);
});

test('a context evicted, idle-evicted or forgotten has its OpenSSL context freed at once; held ones do not', () => {
  const closed: string[] = [];
  const store = new SecureContextStore({
    maxContexts: 2,
    maxBytes: 1e9,
    // a SecureContext's native handle is `.context`; its close() frees the SSL_CTX
    build: (m) => ({ context: { close: () => closed.push(m.spec.label) } }) as unknown as SecureContext,
    estimate: (m) => m.bytes,
    now: () => 0,
  });
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((l) => material(l));
  store.get(a, 'a');
  store.get(b, 'b');
  store.get(c, 'c'); // evicts a
  assert.deepEqual(closed, ['a']);
  store.forget(b);
  assert.deepEqual(closed, ['a', 'b']);
  store.get(d, 'd');
  assert.equal(store.evictIdle(-1), 2); // everything is idle
  assert.deepEqual(closed.sort(), ['a', 'b', 'c', 'd']);
  store.forget(b); // not held any more: nothing to close twice
  assert.equal(closed.length, 4);
});
