import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ProcessSignals, routerStatsLine } from '../src/signals.ts';

/** Stats documents captured from the real uWSGI 2.0.21 HTTP router and fastrouter. */
function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
}

test('the SIGUSR1 line sums a stats document: sessions, requests, nodes, errors', () => {
  const http = fixture('router-stats.json');
  assert.equal(
    routerStatsLine({ opts: { name: 'http' } }, http),
    'http pid 9089 on 127.0.0.1:21284, 127.0.0.1:21111: 0 active sessions, 3 requests sent to nodes, ' +
      '1 nodes (0 static, 1 subscribed under 1 keys), errors: none',
  );
  const fast = {
    ...fixture('fastrouter-stats.json'),
    active_sessions: 2,
    static_nodes: [
      { name: '127.0.0.1:3031', hits: 10, grace: 0 },
      { name: '127.0.0.1:3032', hits: 5, grace: 0 },
    ],
    cheap: 1,
    uwrouter: { counters: { UWR_ERR_CONNECT: 4, UWR_ERR_TIMEOUT: 0, UWR_ERR_NO_NODE: 1 } },
  };
  assert.equal(
    routerStatsLine({ opts: { name: 'fastrouter' } }, fast),
    'fastrouter pid 9238 on 127.0.0.1:21285, 127.0.0.1:21114: 2 active sessions, 16 requests sent to nodes, ' +
      '3 nodes (2 static, 1 subscribed under 1 keys), cheap mode, errors: UWR_ERR_CONNECT=4 UWR_ERR_NO_NODE=1',
  );
});

test('a stop signal that comes while starting is delivered once the stop handler exists', () => {
  const s = new ProcessSignals();
  const lines: string[] = [];
  s.useLogger({ info: (m) => lines.push(m), warn: (m) => lines.push(m) });
  // what the process handler does on SIGTERM, without installing it in the test runner
  (s as unknown as { stop(sig: string): void }).stop('SIGTERM');
  assert.equal(s.stopRequested, 'SIGTERM');
  const got: string[] = [];
  s.onStop((sig) => got.push(sig));
  assert.deepEqual(got, ['SIGTERM']);
  assert.equal(s.stopRequested, null);
  s.logStats();
  assert.match(lines.at(-1) ?? '', /no router is running yet/);
});

test('SIGUSR2 or SIGHUP while starting (logrotate at that moment): the log files are reopened once something can', () => {
  for (const signal of ['SIGUSR2', 'SIGHUP'] as const) {
    const s = new ProcessSignals();
    const lines: string[] = [];
    s.useLogger({ info: (m) => lines.push(m), warn: (m) => lines.push(m) });
    // what the process handlers do, without installing them in the test runner
    const internals = s as unknown as { reopenLogs(): void; reload(): void };
    if (signal === 'SIGUSR2') internals.reopenLogs();
    else internals.reload();
    assert.match(lines.join('\n'), /while starting: .*reopened once/);
    const reopened: string[] = [];
    s.onReopenLogs((sig) => reopened.push(sig));
    assert.deepEqual(reopened, [signal as string], 'delivered when the reopener is registered');
    s.onReopenLogs((sig) => reopened.push(`second ${sig}`));
    assert.deepEqual(reopened, [signal as string], 'once');
    internals.reopenLogs();
    assert.deepEqual(reopened, [signal as string, 'SIGUSR2', 'second SIGUSR2']);
  }
});
