import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findOption, OPTION_GROUPS, OPTION_INDEX, OPTIONS } from '../../src/config/index.ts';
import { statusOf } from '../../src/config/status.ts';

const ROUTERS = ['fastrouter', 'rawrouter', 'sslrouter', 'http'];

test('every option has help, a known group and a value name; names are unique', () => {
  const groups = new Set(OPTION_GROUPS.map((g) => g.group));
  const seen = new Set<string>();
  for (const o of OPTIONS) {
    assert.ok(o.help.length > 10, `${o.name} help`);
    assert.ok(groups.has(o.group), `${o.name} group ${o.group}`);
    assert.ok(o.valueName, `${o.name} valueName`);
    assert.match(o.name, /^[a-z0-9-]+$/);
    for (const n of [o.name, ...(o.aliases ?? [])]) {
      assert.ok(!seen.has(n), `duplicate ${n}`);
      seen.add(n);
      assert.equal(OPTION_INDEX.get(n), o);
    }
    const st = statusOf(o);
    if (st !== 'implemented') {
      const why = 'refuse' in st ? st.refuse : 'warn' in st ? st.warn : st.noop;
      assert.ok(why.length > 10, `${o.name}: a status says why`);
    }
    if (o.kind !== 'string') assert.equal(o.choices, undefined, o.name);
  }
});

test('common corerouter options exist for every router with the uWSGI defaults (corerouter.md §2)', () => {
  const expected: Record<string, { kind: string; def?: string; repeatable?: boolean }> = {
    'max-retries': { kind: 'int', def: '3' },
    timeout: { kind: 'int', def: '60' },
    gracetime: { kind: 'int', def: '30' },
    'buffer-size': { kind: 'int', def: '4096' },
    events: { kind: 'int', def: '64' },
    processes: { kind: 'int', def: '1' },
    harakiri: { kind: 'int', def: '0' },
    quiet: { kind: 'flag' },
    cheap: { kind: 'flag' },
    to: { kind: 'string', repeatable: true },
    fallback: { kind: 'string', repeatable: true },
    'subscription-server': { kind: 'string', repeatable: true },
    'use-pattern': { kind: 'string' },
    'use-base': { kind: 'string' },
    'use-cache': { kind: 'string' },
    'use-socket': { kind: 'int' },
    'use-code-string': { kind: 'string' },
    zerg: { kind: 'string', repeatable: true },
    stats: { kind: 'string' },
  };
  for (const r of ROUTERS) {
    for (const [suffix, e] of Object.entries(expected)) {
      const o = findOption(`${r}-${suffix}`);
      assert.ok(o, `${r}-${suffix}`);
      assert.equal(o.kind, e.kind, `${r}-${suffix} kind`);
      assert.equal(o.default, e.def, `${r}-${suffix} default`);
      assert.equal(o.repeatable === true, e.repeatable === true, `${r}-${suffix} repeatable`);
      assert.equal(o.group, r);
    }
    assert.equal(findOption(`${r}-workers`)?.name, `${r}-processes`);
    assert.equal(findOption(`${r}-ss`)?.name, `${r}-stats`);
    assert.equal(findOption(`${r}-stats-server`)?.name, `${r}-stats`);
  }
  // per-router availability
  for (const name of ['fastrouter-resubscribe', 'http-resubscribe', 'fastrouter-uid', 'http-gid']) {
    assert.ok(findOption(name), name);
  }
  for (const name of [
    'rawrouter-resubscribe',
    'sslrouter-subscription-fallback-key',
    'http-subscription-slot',
  ]) {
    assert.equal(findOption(name), undefined, name);
  }
  assert.deepEqual(statusOf(findOption('fastrouter-subscription-slot')!), {
    noop: 'deprecated in uWSGI 2.0, where it does nothing either',
  });
});

test('listeners, router-specific and named options from the brief', () => {
  for (const name of [
    'fastrouter',
    'rawrouter',
    'http',
    'https',
    'https2',
    'http-to-https',
    'sslrouter',
    'sslrouter2',
  ]) {
    assert.equal(findOption(name)?.repeatable, true, name);
  }
  assert.equal(findOption('httprouter')?.name, 'http');
  for (const name of [
    'fastrouter-fallback-on-no-key',
    'fastrouter-post-buffering',
    'fastrouter-post-buffering-dir',
    'fastrouter-resubscribe-bind',
    'rawrouter-xclient',
    'sslrouter-sni',
    'sslrouter-session-context',
    'http-silent-errors',
    'http-trusted-proxy',
    'http-max-body',
    'http-max-head',
    'subscriptions-sign-check',
    'subscribe2',
    'sni-regexp',
    'ssl-sessions-use-cache',
    'shared-socket',
    'cache2',
    'log-format',
  ]) {
    assert.ok(findOption(name), name);
  }
  assert.equal(findOption('http-keepalive')?.kind, 'optional-int');
  assert.equal(findOption('http-manage-expect')?.kind, 'optional-int');
  assert.equal(findOption('st')?.name, 'subscribe-to');
  assert.equal(findOption('subscribe')?.name, 'subscribe-to');
  assert.equal(findOption('subscription-tolerance')?.default, '17');
  assert.equal(findOption('subscriptions-sign-check-tolerance')?.default, '86400');
  assert.equal(findOption('subscribe-freq')?.default, '10');
  assert.equal(findOption('ssl-verify-depth')?.default, '1');
  assert.equal(findOption('ssl-sessions-timeout')?.default, '300');
  assert.equal(findOption('socket-timeout')?.default, '4');
  assert.equal(findOption('listen')?.default, '100');
  assert.equal(findOption('http-max-head')?.default, '16384');
  assert.deepEqual(findOption('subscription-algo')?.choices, ['wrr', 'lrc', 'wlrc', 'iphash']);
  for (const name of ['master', 'plugins', 'vacuum', 'die-on-term']) {
    const st = statusOf(findOption(name)!);
    assert.ok(typeof st === 'object' && 'noop' in st, name);
  }
  for (const name of ['pidfile', 'pidfile2', 'daemonize', 'daemonize2', 'uid', 'gid', 'logto', 'logto2']) {
    assert.equal(statusOf(findOption(name)!), 'implemented', name);
  }
  const chroot = statusOf(findOption('chroot')!);
  assert.ok(typeof chroot === 'object' && 'refuse' in chroot, 'chroot');
  assert.equal(findOption('chmod')?.name, 'chmod-socket', "uWSGI's short alias");
  assert.equal(findOption('chmod-socket')?.implicit, '', 'no value = 666');
  assert.equal(statusOf(findOption('chdir')!), 'implemented');
  // the PROXY-header deadline of trusted rawrouter peers
  assert.equal(statusOf(findOption('socket-timeout')!), 'implemented');
  assert.equal(findOption('undeferred-shared-socket')?.name, 'shared-socket', 'one =N numbering for both');
});
