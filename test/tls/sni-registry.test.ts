import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { makeRegistry } from './registry-harness.ts';
import { TestCerts } from './test-certs.ts';

const certs = new TestCerts('registry');
const ca = certs.ca();
const a = certs.leaf(ca, 'a.example');
const aRsa = certs.leaf(ca, 'a.example', { kind: 'rsa' });
const b = certs.leaf(ca, 'b.example');
const wild = certs.leaf(ca, 'wild.example');
const shop = certs.leaf(ca, 'shop.example');
const sub = certs.leaf(ca, 'sub.example');
const sub2 = certs.leaf(ca, 'sub.example', { stem: 'sub2' });
const expired = certs.leaf(ca, 'old.example', {
  notBefore: new Date('2020-01-01T00:00:00Z'),
  notAfter: new Date('2020-02-01T00:00:00Z'),
});

const item = (name: string, c: { crt: string; key: string }, extra = '') =>
  `${name} ${c.crt},${c.key}${extra}`;

/** settings letting subscriptions name certificate files in `dir` */
const subscriptionsIn = (dir: string) => ({ subscriptionsSniDir: dir });

function names(r: ReturnType<typeof makeRegistry>, serverName: string | null): string {
  const c = r.registry.lookup(serverName);
  return c === null ? 'default' : `${c.source} ${c.name}`;
}

test('lookup order: exact --sni, subscription, --sni-regexp in order, none', () => {
  const r = makeRegistry({
    sni: [item('a.example', a), item('b.example', b)],
    sniRegexp: [item('^shop[0-9]+\\.example$', shop), item('example$', wild)],
    settings: subscriptionsIn(certs.dir),
  });
  assert.equal(names(r, 'a.example'), 'sni a.example');
  assert.equal(names(r, 'b.example'), 'sni b.example');
  assert.equal(names(r, 'shop7.example'), 'sni-regexp ^shop[0-9]+\\.example$');
  assert.equal(names(r, 'other.example'), 'sni-regexp example$', 'unanchored, as PCRE match');
  assert.equal(names(r, 'example.org'), 'default');
  assert.equal(names(r, null), 'default');
  // a subscription certificate for a name with an --sni item does not win over it
  r.registry.attachSubscription('a.example', { key: sub.key, crt: sub.crt });
  assert.equal(names(r, 'a.example'), 'sni a.example');
  // but it wins over regexps
  r.registry.attachSubscription('shop1.example:443', { key: sub.key, crt: sub.crt });
  assert.equal(names(r, 'shop1.example'), 'subscription shop1.example');
  assert.equal(names(r, 'shop2.example'), 'sni-regexp ^shop[0-9]+\\.example$');
});

test('dotsplit: .suffix names, 5 tries, then stop (no regexp, no sni-dir)', () => {
  const dir = certs.path('dotsplit-dir');
  mkdirSync(dir);
  copyFileSync(b.crt, join(dir, 'x.b.example.crt'));
  copyFileSync(b.key, join(dir, 'x.b.example.key'));
  const r = makeRegistry({
    dotsplit: true,
    sniDir: dir,
    sni: [item('.example', a)],
    sniRegexp: [item('^zzz', shop)],
  });
  assert.equal(names(r, 'www.example'), 'sni .example');
  assert.equal(names(r, 'a.b.c.example'), 'sni .example', '4th try');
  assert.equal(names(r, 'a.b.c.d.example'), 'sni .example', '5th try');
  assert.equal(names(r, 'a.b.c.d.e.example'), 'default', 'a 6th try is not made');
  assert.equal(names(r, 'example'), 'default', 'the bare name never matches .example');
  assert.equal(names(r, 'zzz.org'), 'default', 'regexps are skipped in dotsplit mode');
  assert.equal(names(r, 'x.b.example'), 'sni .example');
  assert.equal(names(r, 'x.b.org'), 'default');
  assert.equal(r.registry.counts.dir, 0, 'sni-dir is skipped in dotsplit mode');
});

test('static items: start-up errors name the file; RSA + ECDSA for one name merge', () => {
  assert.throws(
    () => makeRegistry({ sni: [item('old.example', expired)] }),
    (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /--sni "old\.example": .*old\.example\.ecdsa\.crt: certificate expired/);
      return true;
    },
  );
  assert.throws(
    () => makeRegistry({ sni: [item('a.example', { crt: a.crt, key: b.key })] }),
    new RegExp(`${b.key.replace(/[.]/g, '\\.')}: private key does not match`),
  );
  const notCert = certs.file('plain.txt', 'not a certificate\n');
  assert.throws(
    () => makeRegistry({ sniRegexp: [item('x', { crt: notCert, key: a.key })] }),
    /plain\.txt: is not a PEM certificate/,
  );
  assert.throws(
    () => makeRegistry({ sni: [item('a.example', a, ',NOPE')] }),
    /OpenSSL refuses this certificate or cipher list/,
  );
  const r = makeRegistry({ sni: [item('a.example', aRsa), item('a.example', a)] });
  assert.equal(r.registry.counts.static, 1);
  assert.equal(r.store.size, 1, 'one context holds both pairs');
  assert.throws(
    () => makeRegistry({ sni: [item('a.example', a), item('a.example', b)] }),
    /a second ec certificate/,
  );
});

test('subscriptions: keyed by the port-less name, counted by pools, freed with the last pool', () => {
  const r = makeRegistry({ settings: subscriptionsIn(certs.dir) });
  r.registry.attachSubscription('Sub.Example:8080', { key: sub.key, crt: sub.crt });
  assert.deepEqual(r.lines, [`[uwsgi-sni for pid ${process.pid}] added SSL context for sub.example`]);
  r.registry.attachSubscription('sub.example:8443', { key: sub.key, crt: sub.crt });
  r.registry.attachSubscription('sub.example:8443', { key: sub.key, crt: sub.crt }); // the 10 s re-announce
  assert.equal(r.registry.counts.subscriptions, 1);
  assert.equal(names(r, 'sub.example'), 'subscription sub.example');
  assert.ok(r.registry.hasSubscriptionContext('sub.example:8443'));
  assert.equal(r.store.size, 1);
  r.registry.detachSubscription('Sub.Example:8080');
  assert.equal(names(r, 'sub.example'), 'subscription sub.example', 'one pool still uses it');
  r.registry.detachSubscription('sub.example:9999'); // never attached: nothing happens
  assert.equal(names(r, 'sub.example'), 'subscription sub.example');
  r.registry.detachSubscription('sub.example:8443');
  assert.equal(names(r, 'sub.example'), 'default');
  assert.equal(r.store.size, 0, 'the context is freed');
  assert.equal(r.registry.counts.subscriptions, 0);
  assert.equal(r.lines.at(-1), `[uwsgi-sni for pid ${process.pid}] destroyed SSL context for sub.example`);
  assert.equal(r.lines.length, 2);
});

test('subscriptions: other files in a newer packet replace the context', () => {
  const r = makeRegistry({ settings: subscriptionsIn(certs.dir) });
  r.registry.attachSubscription('sub.example', { key: sub.key, crt: sub.crt });
  const first = r.registry.lookup('sub.example')?.context;
  r.registry.attachSubscription('sub.example', { key: sub2.key, crt: sub2.crt });
  const second = r.registry.lookup('sub.example')?.context;
  assert.ok(first && second);
  assert.notEqual(second, first);
  assert.equal(r.store.size, 1, 'the old context is gone');
  assert.match(
    r.lines.at(-1) ?? '',
    /replaced SSL context for sub\.example \(a newer subscription names other files\)/,
  );
});

test('subscriptions: bad files cost one log line per file state, the name gets the default', () => {
  const r = makeRegistry({ settings: subscriptionsIn(certs.dir) });
  const key = certs.path('late.key');
  const crt = certs.path('late.crt');
  r.registry.attachSubscription('late.example', { key, crt });
  r.registry.attachSubscription('late.example', { key, crt });
  assert.equal(r.lines.length, 1);
  assert.match(
    r.lines[0],
    /^\[uwsgi-sni for pid \d+\] subscription certificate for "late\.example" refused: .*late\.crt: cannot resolve it \(ENOENT\)$/,
  );
  assert.equal(names(r, 'late.example'), 'default');
  // the files appear; the next packet after the recheck interval loads them
  copyFileSync(a.crt, crt);
  copyFileSync(a.key, key);
  r.registry.attachSubscription('late.example', { key, crt });
  assert.equal(names(r, 'late.example'), 'default', 'not before the recheck interval');
  r.clock.t += 5000;
  r.registry.attachSubscription('late.example', { key, crt });
  assert.equal(names(r, 'late.example'), 'subscription late.example');
  assert.match(r.lines.at(-1) ?? '', /added SSL context for late\.example/);
  // a packet naming an expired certificate: logged, the working one stays
  r.registry.attachSubscription('late.example', { key: expired.key, crt: expired.crt });
  r.registry.attachSubscription('late.example', { key: expired.key, crt: expired.crt });
  assert.equal(r.lines.filter((l) => l.includes('expired')).length, 1);
  assert.equal(names(r, 'late.example'), 'subscription late.example');
  // incomplete SNI fields are ignored, as in uWSGI; inline PEM needs --ssl-tmp-dir
  r.registry.attachSubscription('half.example', { key: '', crt: a.crt });
  assert.equal(r.registry.counts.subscriptions, 1);
  r.registry.attachSubscription('inline.example', {
    key: '-----BEGIN PRIVATE KEY-----',
    crt: '-----BEGIN CERTIFICATE-----',
  });
  assert.match(r.lines.at(-1) ?? '', /inline PEM needs --ssl-tmp-dir/);
  assert.equal(r.registry.counts.subscriptions, 1);
});

test('subscriptions: certificate files are read only from --subscriptions-sni-dir', () => {
  const pid = process.pid;
  const refused = (name: string, why: string) =>
    `[uwsgi-sni for pid ${pid}] subscription certificate for "${name}" refused: ${why}`;
  // without the option: nothing a subscription names is read, every packet is counted
  const off = makeRegistry();
  off.registry.attachSubscription('a.example', { key: a.key, crt: a.crt });
  off.registry.attachSubscription('a.example', { key: a.key, crt: a.crt });
  assert.equal(names(off, 'a.example'), 'default');
  assert.deepEqual(off.lines, [
    refused('a.example', `${a.crt}: subscription certificates are refused without --subscriptions-sni-dir`),
  ]);
  assert.equal(off.registry.subscriptionCertificatesRefused, 2);
  assert.equal(off.store.size, 0);

  const dir = certs.path('subscribed');
  mkdirSync(dir);
  copyFileSync(sub.crt, join(dir, 'sub.crt'));
  copyFileSync(sub.key, join(dir, 'sub.key'));
  symlinkSync(join(dir, 'sub.crt'), join(dir, 'link-inside.crt'));
  symlinkSync(a.key, join(dir, 'link-outside.key'));
  const r = makeRegistry({ settings: subscriptionsIn(dir) });
  // inside (also through a link that stays inside): served
  r.registry.attachSubscription('sub.example', {
    key: join(dir, 'sub.key'),
    crt: join(dir, 'link-inside.crt'),
  });
  assert.equal(names(r, 'sub.example'), 'subscription sub.example');
  // outside, by path, by "..", by a link leading out, or a system file: refused before any read
  const cases: Array<[string, string, string]> = [
    ['out1.example', a.crt, `${a.crt}: outside --subscriptions-sni-dir ${dir}`],
    ['out2.example', `${dir}/../${a.crt.split('/').pop()}`, `outside --subscriptions-sni-dir ${dir}`],
    ['out3.example', join(dir, 'link-outside.key'), `outside --subscriptions-sni-dir ${dir}`],
    ['out4.example', '/etc/passwd', `/etc/passwd: outside --subscriptions-sni-dir ${dir}`],
  ];
  for (const [name, path, why] of cases) {
    const isKey = path.endsWith('.key');
    r.registry.attachSubscription(name, {
      key: isKey ? path : join(dir, 'sub.key'),
      crt: isKey ? join(dir, 'sub.crt') : path,
    });
    assert.equal(names(r, name), 'default', name);
    assert.ok(r.lines.at(-1)?.startsWith(refused(name, '')), r.lines.at(-1));
    assert.ok(r.lines.at(-1)?.endsWith(why), `${r.lines.at(-1)} ends with ${why}`);
  }
  assert.equal(r.lines.filter((l) => /not a PEM|cannot read/.test(l)).length, 0, 'nothing outside was read');
  // a client CA too
  r.registry.attachSubscription('ca.example', {
    key: join(dir, 'sub.key'),
    crt: join(dir, 'sub.crt'),
    ca: `!${ca.crt}`,
  });
  assert.equal(names(r, 'ca.example'), 'default');
  assert.match(r.lines.at(-1) ?? '', /refused: .*\.crt: outside --subscriptions-sni-dir/);
  // the same refused packet again: counted, not logged or resolved again
  const before = r.lines.length;
  const count = r.registry.subscriptionCertificatesRefused;
  r.registry.attachSubscription('out1.example', { key: join(dir, 'sub.key'), crt: a.crt });
  assert.equal(r.lines.length, before);
  assert.equal(r.registry.subscriptionCertificatesRefused, count + 1);
  // control bytes in a path are escaped in the log line
  r.registry.attachSubscription('ctl.example', { key: join(dir, 'sub.key'), crt: '/nope\n[fake] line' });
  assert.match(r.lines.at(-1) ?? '', /\/nope\\x0a\[fake\] line: cannot resolve it \(ENOENT\)$/);
  // a directory that is not one is a start-up error
  assert.throws(
    () => makeRegistry({ settings: subscriptionsIn(a.crt) }),
    (e: Error) => e instanceof ConfigError && /--subscriptions-sni-dir .*: not a directory/.test(e.message),
  );
});

test('sni-dir: loaded on first use, replaced when the files change, dropped when they go', () => {
  const dir = certs.path('sni-dir');
  mkdirSync(dir);
  const put = (name: string, c: { crt: string; key: string }) => {
    copyFileSync(c.crt, join(dir, `${name}.crt`));
    copyFileSync(c.key, join(dir, `${name}.key`));
  };
  put('d.example', a);
  const r = makeRegistry({ sniDir: dir });
  assert.equal(names(r, 'd.example'), 'sni-dir d.example');
  assert.match(r.lines[0], /added SSL context for d\.example/);
  const first = r.registry.lookup('d.example')?.context;
  put('d.example', b);
  assert.equal(r.registry.lookup('d.example')?.context, first, 'not re-checked before the interval');
  r.clock.t += 5000;
  const second = r.registry.lookup('d.example')?.context;
  assert.ok(second);
  assert.notEqual(second, first);
  assert.match(r.lines.at(-1) ?? '', /replaced SSL context for d\.example \(certificate changed on disk\)/);
  rmSync(join(dir, 'd.example.key'));
  r.clock.t += 5000;
  assert.equal(names(r, 'd.example'), 'default');
  assert.match(r.lines.at(-1) ?? '', /destroyed SSL context for d\.example/);
  assert.equal(r.store.size, 0);
});

test('sni-dir: unknown names are remembered, bad files logged, file names stay inside the dir', () => {
  const dir = certs.path('sni-dir-2');
  mkdirSync(dir);
  const r = makeRegistry({ sniDir: dir, settings: { maxContexts: 2 } });
  assert.equal(names(r, 'e.example'), 'default');
  copyFileSync(a.crt, join(dir, 'e.example.crt'));
  copyFileSync(a.key, join(dir, 'e.example.key'));
  assert.equal(names(r, 'e.example'), 'default', 'the miss is remembered for the recheck interval');
  r.clock.t += 5000;
  assert.equal(names(r, 'e.example'), 'sni-dir e.example');
  // a key that does not match: one line, then remembered
  copyFileSync(a.crt, join(dir, 'f.example.crt'));
  copyFileSync(b.key, join(dir, 'f.example.key'));
  assert.equal(names(r, 'f.example'), 'default');
  assert.equal(names(r, 'f.example'), 'default');
  assert.equal(r.lines.filter((l) => l.includes('f.example')).length, 1);
  // ../ never leaves the directory, even when such files exist
  copyFileSync(a.crt, certs.path('evil.crt'));
  copyFileSync(a.key, certs.path('evil.key'));
  assert.equal(names(r, '../evil'), 'default');
  assert.equal(names(r, '..'), 'default');
  // loaded names are bounded by maxContexts
  for (const n of ['g.example', 'h.example']) {
    copyFileSync(a.crt, join(dir, `${n}.crt`));
    copyFileSync(a.key, join(dir, `${n}.key`));
    assert.equal(names(r, n), `sni-dir ${n}`);
  }
  assert.equal(r.registry.counts.dir, 2);
  assert.ok(r.store.size <= 2);
});
