/**
 * Sessions resumed across "nodes" in one process: two TLS fronts built apart (each its own
 * runtime, as two processes would have) with real Node TLS clients. Shared ticket keys:
 * TLS 1.3 and 1.2 tickets of one front resume on the other, also after rotation periods
 * (fake clock), never with another key file; a context is built for a new period only when
 * a handshake needs it; a session made where no client CA is asked for never resumes where
 * one is. TLS 1.2 session ids through a cache (src/tls/session-id-cache.ts): resumed on the
 * other front, a TLS 1.3 hello never costs a lookup, a slow or broken store costs a full
 * handshake and nothing else. A key file replaced on disk and reloaded (SIGHUP's helper).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { UwsgiCache } from '../../src/cache/cache.ts';
import { type CacheStore, LocalCacheStore } from '../../src/cache/store.ts';
import type { TlsRuntime } from '../../src/tls/from-config.ts';
import { TlsResumption } from '../../src/tls/resumption.ts';
import { reloadRouterTicketKeys, setRouterTlsRuntime } from '../../src/tls/router-runtime.ts';
import { TlsSessionIdCache } from '../../src/tls/session-id-cache.ts';
import { TicketKeys } from '../../src/tls/ticket-keys.ts';
import { recordingLogger, settings } from '../cache/cache-settings.ts';
import { startFront } from './front-kit.ts';
import { captureLogger, makeRegistry } from './registry-harness.ts';
import { TestCerts } from './test-certs.ts';

const certs = new TestCerts('sessions');
const ca = certs.ca();
const leaf = certs.leaf(ca, 'localhost');
const named = certs.leaf(ca, 'named.example');
const other = certs.leaf(ca, 'other.example');
const client = certs.leaf(ca, 'session client', { client: true });
const LISTEN = `127.0.0.1:0,${leaf.crt},${leaf.key}`;

type Version = 'TLSv1.2' | 'TLSv1.3';
interface Handshake {
  reused: boolean;
  protocol: string | null;
  session: Buffer | undefined;
  error?: string;
}

/** One connection: the last session the server gave, and whether it resumed `session`. */
function handshake(
  port: number,
  version: Version,
  o: { session?: Buffer; servername?: string; cert?: boolean } = {},
): Promise<Handshake> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    const s = tlsConnect({
      port,
      host: '127.0.0.1',
      servername: o.servername ?? 'localhost',
      ca: readFileSync(ca.crt),
      minVersion: version,
      maxVersion: version,
      ...(o.session ? { session: o.session } : {}),
      ...(o.cert ? { cert: readFileSync(client.crt), key: readFileSync(client.key) } : {}),
    });
    s.on('session', (b: Buffer) => {
      session = b;
    });
    s.on('data', () => {});
    const done = (error?: string) =>
      resolve({ reused: s.isSessionReused(), protocol: s.getProtocol(), session, error });
    s.on('end', () => done());
    s.on('error', (e: Error) => done(e.message));
  });
}

const VERSIONS: Version[] = ['TLSv1.3', 'TLSv1.2'];

function sharedKeys(secret: Buffer, clock: { t: number }, rotationSeconds = 2): TlsResumption {
  return new TlsResumption(new TicketKeys(secret, { rotationSeconds, now: () => clock.t }));
}

describe('shared ticket keys', () => {
  for (const version of VERSIONS) {
    test(`${version}: a session made on one node resumes on another with the same file, not with another file`, async () => {
      const secret = randomBytes(48);
      const clock = { t: Date.now() };
      const a = await startFront({ listen: LISTEN, resumption: sharedKeys(secret, clock) });
      const b = await startFront({ listen: LISTEN, resumption: sharedKeys(secret, clock) });
      const stranger = sharedKeys(randomBytes(48), clock);
      const c = await startFront({ listen: LISTEN, resumption: stranger });
      const first = await handshake(a.port, version);
      assert.equal(first.protocol, version);
      assert.equal(first.reused, false);
      assert.ok(first.session);
      const onB = await handshake(b.port, version, { session: first.session });
      assert.equal(onB.reused, true, 'resumed on the other node');
      assert.equal(b.stats.resumed, 1);
      const onC = await handshake(c.port, version, { session: first.session });
      assert.equal(onC.error, undefined);
      assert.equal(onC.reused, false, 'another key file: a full handshake');
      assert.equal(stranger.counters.ticketsUnknownKey, 1);
    });

    test(`${version}: still resumed one and two periods later on the other node, not three`, async () => {
      const secret = randomBytes(48);
      // the start of a period, so "one period later" is exact
      const clock = { t: Math.ceil(Date.now() / 2000) * 2000 };
      const ra = sharedKeys(secret, clock);
      const rb = sharedKeys(secret, clock);
      const a = await startFront({ listen: LISTEN, resumption: ra });
      const b = await startFront({ listen: LISTEN, resumption: rb });
      const { session } = await handshake(a.port, version);
      for (const periods of [1, 2]) {
        clock.t += 2000;
        const r = await handshake(b.port, version, { session });
        assert.equal(r.reused, true, `${periods} period(s) later`);
      }
      assert.equal(rb.counters.ticketsOtherPeriod, 2);
      clock.t += 2000;
      const late = await handshake(b.port, version, { session });
      assert.equal(late.reused, false, 'three periods later: the key is no longer accepted');
      assert.equal(late.error, undefined);
    });

    test(`${version}: a node whose clock is one period behind accepts the other's newer tickets`, async () => {
      const secret = randomBytes(48);
      const ahead = { t: Math.ceil(Date.now() / 2000) * 2000 + 2000 };
      const behind = { t: ahead.t - 2000 };
      const a = await startFront({ listen: LISTEN, resumption: sharedKeys(secret, ahead) });
      const b = await startFront({ listen: LISTEN, resumption: sharedKeys(secret, behind) });
      const { session } = await handshake(a.port, version);
      assert.equal((await handshake(b.port, version, { session })).reused, true);
    });
  }

  test('a new period builds nothing until a handshake needs it, then one context for that name', async () => {
    const secret = randomBytes(48);
    const clock = { t: Math.ceil(Date.now() / 2000) * 2000 };
    const resumption = sharedKeys(secret, clock);
    const { registry, store } = makeRegistry({
      resumption,
      clock,
      sni: [`named.example ${named.crt},${named.key}`, `other.example ${other.crt},${other.key}`],
    });
    const f = await startFront({ listen: LISTEN, registry, resumption });
    for (const name of ['named.example', 'other.example']) {
      assert.equal((await handshake(f.port, 'TLSv1.3', { servername: name })).error, undefined);
    }
    assert.equal(store.stats.builds, 2, 'one build per name');
    const { session } = await handshake(f.port, 'TLSv1.3', { servername: 'named.example' });
    clock.t += 2000;
    assert.equal(store.stats.builds, 2, 'the period changed: nothing rebuilt yet');
    await handshake(f.port, 'TLSv1.3', { servername: 'named.example' });
    assert.equal(store.stats.builds, 3, 'one handshake: one build, for its name only');
    assert.equal(store.size, 3, 'the previous period’s build is still held (its tickets resume)');
    const resumed = await handshake(f.port, 'TLSv1.3', { servername: 'named.example', session });
    assert.equal(resumed.reused, true);
    assert.equal(store.stats.builds, 3, 'the ticket of the previous period used the build still held');
    // three periods on, the old build is out of the window: freed at the name's next build
    clock.t += 3 * 2000;
    await handshake(f.port, 'TLSv1.3', { servername: 'named.example' });
    assert.equal(store.stats.builds, 4);
    assert.equal(store.size, 2, 'named.example: one build left; other.example: its old one');
  });

  for (const version of VERSIONS) {
    test(`${version}: a session made without a client CA never resumes where one is asked for`, async () => {
      const secret = randomBytes(48);
      const clock = { t: Date.now() };
      const withCa = `${LISTEN},,${ca.crt}`;
      const open = await startFront({
        listen: LISTEN,
        resumption: sharedKeys(secret, clock),
        sessionIdContext: 'one',
      });
      const guarded = await startFront({
        listen: withCa,
        resumption: sharedKeys(secret, clock),
        sessionIdContext: 'one',
      });
      const twin = await startFront({
        listen: withCa,
        resumption: sharedKeys(secret, clock),
        sessionIdContext: 'one',
      });
      const made = await handshake(open.port, version);
      const r = await handshake(guarded.port, version, { session: made.session });
      assert.equal(r.error, undefined);
      assert.equal(r.reused, false, 'the same ticket keys and context name, another client CA: full');
      // the control: the same CA on both sides resumes (with the client's certificate kept)
      const withCert = await handshake(guarded.port, version, { cert: true });
      const again = await handshake(twin.port, version, { session: withCert.session, cert: true });
      assert.equal(again.reused, true, 'the same CA: resumed');
      assert.equal(
        twin.secured.at(-1)?.clientCertificate,
        true,
        'the resumed session still has the certificate',
      );
    });
  }
});

/** A cache store that counts calls and can be slowed down or broken. */
class CountingStore implements CacheStore {
  gets = 0;
  sets = 0;
  delayMs = 0;
  garbage = false;
  readonly inner: CacheStore;
  constructor(inner: CacheStore) {
    this.inner = inner;
  }
  get name(): string {
    return this.inner.name;
  }
  get maxValueSize(): number {
    return this.inner.maxValueSize;
  }
  get kind(): 'local' {
    return 'local';
  }
  async get(key: Buffer): Promise<Buffer | undefined> {
    this.gets++;
    // unref'd: a store that never answers must not hold the test process open
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs).unref());
    const v = await this.inner.get(key);
    return this.garbage && v ? randomBytes(v.length) : v;
  }
  set(key: Buffer, value: Buffer, ttl: number): Promise<boolean> {
    this.sets++;
    return this.inner.set(key, value, ttl);
  }
  update(key: Buffer, value: Buffer, ttl: number): Promise<boolean> {
    return this.inner.update(key, value, ttl);
  }
  delete(key: Buffer): Promise<boolean> {
    return this.inner.delete(key);
  }
  storeStats() {
    return this.inner.storeStats();
  }
}

function cacheResumption(store: CacheStore): TlsResumption {
  const r = new TlsResumption(null);
  r.useSessionCache(new TlsSessionIdCache(store, 300));
  return r;
}

describe('TLS 1.2 session ids through a cache', () => {
  const sharedCache = () =>
    new CountingStore(
      new LocalCacheStore(
        new UwsgiCache(settings({ name: 'ssl', maxItems: 100, blocksize: 4096 }), recordingLogger().log),
      ),
    );

  test('a TLS 1.2 session made on one node resumes on another by its id; one lookup, one store', async () => {
    const store = sharedCache();
    const ra = cacheResumption(store);
    const a = await startFront({ listen: LISTEN, resumption: ra });
    const b = await startFront({ listen: LISTEN, resumption: cacheResumption(store) });
    const first = await handshake(a.port, 'TLSv1.2');
    assert.equal(first.reused, false);
    assert.equal(store.sets, 1, 'the new session stored');
    assert.equal(ra.sessionCache?.counters.stored, 1);
    const gets = store.gets;
    const onB = await handshake(b.port, 'TLSv1.2', { session: first.session });
    assert.equal(onB.reused, true);
    assert.equal(store.gets - gets, 1, 'one lookup');
    assert.equal(store.sets, 1, 'a resumed session is not stored again');
  });

  test('TLS 1.3: not a single cache lookup or store; it still resumes where it was made', async () => {
    const store = sharedCache();
    const a = await startFront({ listen: LISTEN, resumption: cacheResumption(store) });
    const b = await startFront({ listen: LISTEN, resumption: cacheResumption(store) });
    const first = await handshake(a.port, 'TLSv1.3');
    assert.equal((await handshake(b.port, 'TLSv1.3', { session: first.session })).reused, false);
    assert.equal((await handshake(a.port, 'TLSv1.3', { session: first.session })).reused, true);
    assert.deepEqual([store.gets, store.sets], [0, 0]);
  });

  test('a slow store holds the handshake one round trip; a store answering garbage costs a full handshake', async () => {
    const store = sharedCache();
    const a = await startFront({ listen: LISTEN, resumption: cacheResumption(store) });
    const b = await startFront({ listen: LISTEN, resumption: cacheResumption(store) });
    const { session } = await handshake(a.port, 'TLSv1.2');
    store.delayMs = 150;
    const t0 = Date.now();
    const slow = await handshake(b.port, 'TLSv1.2', { session });
    assert.equal(slow.reused, true);
    assert.ok(Date.now() - t0 >= 150, 'it waited for the answer');
    store.delayMs = 0;
    store.garbage = true;
    const bad = await handshake(b.port, 'TLSv1.2', { session });
    assert.equal(bad.error, undefined);
    assert.equal(bad.reused, false);
    assert.equal(b.stats.handshakes, 2);
  });

  test('a store that never answers: the handshake deadline closes it, the next client is served', async () => {
    const store = sharedCache();
    const a = await startFront({ listen: LISTEN, resumption: cacheResumption(store) });
    const b = await startFront({
      listen: LISTEN,
      resumption: cacheResumption(store),
      handshakeTimeoutMs: 300,
    });
    const { session } = await handshake(a.port, 'TLSv1.2');
    store.delayMs = 60_000;
    const t0 = Date.now();
    const stuck = await handshake(b.port, 'TLSv1.2', { session });
    assert.equal(stuck.protocol, null, 'no handshake: closed');
    assert.ok(Date.now() - t0 >= 250, 'at the deadline');
    assert.equal(b.stats.failures.get('timeout'), 1);
    const fresh = await handshake(b.port, 'TLSv1.2');
    assert.equal(fresh.error, undefined, 'a client without a session id to look up is not held');
  });
});

describe('a key file replaced on disk (SIGHUP)', () => {
  test('reloadRouterTicketKeys: new bytes → new tickets, old ones a full handshake; a broken file keeps the keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uwr-sessions-'));
    try {
      const file = join(dir, 'tickets.key');
      writeFileSync(file, randomBytes(48), { mode: 0o600 });
      const resumption = new TlsResumption(TicketKeys.fromFile(file, { rotationSeconds: 3600 }).keys);
      const a = await startFront({ listen: LISTEN, resumption });
      const router = {};
      setRouterTlsRuntime(router, { resumption } as unknown as TlsRuntime);
      const { log, lines } = captureLogger();
      const before = await handshake(a.port, 'TLSv1.3');
      assert.equal((await handshake(a.port, 'TLSv1.3', { session: before.session })).reused, true);
      assert.equal(reloadRouterTicketKeys([router], log), 0, 'the same bytes: nothing replaced');
      // a node started with the new file resumes what this one makes after the reload
      const next = randomBytes(48);
      writeFileSync(file, next);
      assert.equal(reloadRouterTicketKeys([router, {}], log), 1);
      assert.match(lines.join('\n'), /new keys in service/);
      const old = await handshake(a.port, 'TLSv1.3', { session: before.session });
      assert.equal(old.error, undefined);
      assert.equal(old.reused, false, 'a ticket under the replaced file: a full handshake');
      const b = await startFront({
        listen: LISTEN,
        resumption: new TlsResumption(new TicketKeys(next, { rotationSeconds: 3600 })),
      });
      assert.equal((await handshake(b.port, 'TLSv1.3', { session: old.session })).reused, true);
      writeFileSync(file, 'short');
      assert.equal(reloadRouterTicketKeys([router], log), 0);
      assert.match(lines.join('\n'), /not reloaded, the keys in service stay: it holds 5 bytes/);
      assert.equal((await handshake(b.port, 'TLSv1.3', { session: old.session })).reused, true);
      const made = await handshake(a.port, 'TLSv1.3');
      assert.equal(
        (await handshake(b.port, 'TLSv1.3', { session: made.session })).reused,
        true,
        'still the new keys',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
