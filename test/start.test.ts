/**
 * Embedded routers (startRouters, the package API) run in the calling process: options that
 * need the uwrouter command's primary and workers are refused there, naming why.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromValues } from '../src/config/index.ts';
import { ConfigError } from '../src/errors.ts';
import { silentLogger } from '../src/logger.ts';
import { startRouters } from '../src/start.ts';

test('worker processes, harakiri and --touch-reload are refused for embedded routers', async () => {
  const extras: Array<Record<string, string>> = [
    { 'http-processes': '2' },
    { 'http-processes': 'auto' },
    { 'http-harakiri': '5' },
    { 'touch-reload': '/tmp/x' },
  ];
  for (const extra of extras) {
    await assert.rejects(
      startRouters(
        configFromValues({ http: '127.0.0.1:0', 'http-to': '127.0.0.1:1', ...extra }),
        silentLogger(),
        't',
      ),
      (e: unknown) =>
        e instanceof ConfigError &&
        /belong to the uwrouter command; embedded routers run in the calling process/.test(e.message),
      JSON.stringify(extra),
    );
  }
  // one process and harakiri 0 are what embedding is
  const running = await startRouters(
    configFromValues({
      http: '127.0.0.1:0',
      'http-to': '127.0.0.1:1',
      'http-processes': '1',
      'http-harakiri': '0',
    }),
    silentLogger(),
    't',
  );
  await running.close();
});

test('cheap mode is refused for embedded routers (it needs the primary to hold the socket)', async () => {
  const r = await startRouters(
    configFromValues({
      fastrouter: '127.0.0.1:0',
      'fastrouter-subscription-server': '127.0.0.1:0',
      'fastrouter-cheap': 'true',
    }),
    silentLogger(),
    't',
  ).catch((e: unknown) => e as Error);
  if (!(r instanceof Error)) await r.close();
  assert.ok(r instanceof ConfigError, 'refused');
  assert.match(
    r.message,
    /--fastrouter-cheap: cheap mode needs the listening sockets held by the uwrouter command's primary process/,
  );
});

test('--reuse-port: embedded routers bind with SO_REUSEPORT (a second one shares the port)', async () => {
  const base = { http: '127.0.0.1:0', 'http-to': '127.0.0.1:1' };
  const first = await startRouters(configFromValues({ ...base, 'reuse-port': 'true' }), silentLogger(), 't');
  const port = first.routers[0].listeners[0].name;
  try {
    const values = { ...base, http: port };
    // without the option the port is taken
    const taken = await startRouters(configFromValues(values), silentLogger(), 't').catch(
      (e: unknown) => e as Error,
    );
    if (!(taken instanceof Error)) await taken.close();
    assert.match(String(taken), /EADDRINUSE/);
    const second = await startRouters(
      configFromValues({ ...values, 'reuse-port': 'true' }),
      silentLogger(),
      't',
    );
    assert.equal(second.routers[0].listeners[0].name, port);
    await second.close();
  } finally {
    await first.close();
  }
});
