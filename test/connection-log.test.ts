import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionLog } from '../src/connection-log.ts';
import { captureLogger, LEVEL } from './log-capture.ts';

const client = { address: '10.0.0.7', port: 51334 };

test('at most N lines per code per second; one summary per code for the rest, at the most severe level', () => {
  const { log, records } = captureLogger();
  let now = 5_000_250;
  const lines = new ConnectionLog(log, 'uwsgi-http', 3, () => now);
  for (let i = 0; i < 10; i++) lines.line('info', 'UWR_ERR_TIMEOUT', client, 'k', '', `t${i}`);
  lines.line('warn', 'UWR_ERR_TIMEOUT', client, 'k', 'n:1', 'node timeout');
  for (let i = 0; i < 2; i++) lines.line('warn', 'UWR_ERR_CONNECT', client, 'k', 'n:1', `c${i}`);
  assert.deepEqual(
    records.map((r) => r.msg),
    ['t0', 't1', 't2', 'c0', 'c1'],
  );
  assert.deepEqual(
    [records[3].code, records[3].key, records[3].node, records[3].client_addr, records[3].client_port],
    ['UWR_ERR_CONNECT', 'k', 'n:1', '10.0.0.7', 51334],
  );
  assert.equal(lines.suppressed, 8);
  // the next second: lines again, then the summary of the first second
  now += 1000;
  lines.line('info', 'UWR_ERR_TIMEOUT', client, 'k', '', 'next second');
  lines.flush();
  const tail = records.slice(5);
  assert.deepEqual(
    tail.map((r) => r.msg),
    ['next second', '[uwsgi-http] 8 more UWR_ERR_TIMEOUT lines suppressed in the last 1 s'],
  );
  assert.equal(tail[1].level, LEVEL.warn, 'a suppressed warn makes the summary a warn');
  assert.equal(tail[1].suppressed, 8);
  // nothing more to sum up
  lines.flush();
  assert.equal(records.length, 7);
  lines.line('info', 'UWR_ERR_TIMEOUT', client, 'k', '', 'a');
  lines.line('info', 'UWR_ERR_TIMEOUT', client, 'k', '', 'b');
  lines.line('info', 'UWR_ERR_TIMEOUT', client, 'k', '', 'c');
  lines.flush();
  assert.equal(records.at(-1)?.msg, '[uwsgi-http] 1 more UWR_ERR_TIMEOUT line suppressed in the last 1 s');
  assert.equal(records.at(-1)?.level, LEVEL.info);
});

test('the summary is written by itself once the second is over', async () => {
  const { log, records } = captureLogger();
  const lines = new ConnectionLog(log, 'uwsgi-fastrouter', 1);
  lines.line('info', 'UWR_ERR_NO_KEY', client, '', '', 'one');
  lines.line('info', 'UWR_ERR_NO_KEY', client, '', '', 'two');
  lines.line('info', 'UWR_ERR_NO_KEY', client, '', '', 'three');
  const t0 = Date.now();
  while (!records.some((r) => r.msg.includes('suppressed')) && Date.now() - t0 < 3000)
    await new Promise((r) => setTimeout(r, 20));
  // three lines in (at most) two seconds with one allowed per second: one or two written,
  // the rest summed up in a line of its own without any call after them
  const written = records.filter((r) => !r.msg.includes('suppressed'));
  const summaries = records.filter((r) => r.msg.includes('suppressed'));
  assert.equal(written[0]?.msg, 'one');
  assert.ok(summaries.length >= 1, records.map((r) => r.msg).join('|'));
  for (const sm of summaries)
    assert.match(sm.msg, /^\[uwsgi-fastrouter\] [12] more UWR_ERR_NO_KEY lines? suppressed in the last 1 s$/);
  assert.equal(written.length + summaries.reduce((n, r) => n + (r.suppressed as number), 0), 3);
});

test('lines below the log level are neither written nor counted', () => {
  const { log, records } = captureLogger('warn');
  const lines = new ConnectionLog(log, 'uwsgi-http', 1, () => 0);
  for (let i = 0; i < 5; i++) lines.line('info', 'UWR_ERR_TIMEOUT', client, '', '', 'x');
  lines.line('warn', 'UWR_ERR_CONNECT', client, '', '', 'w');
  lines.flush();
  assert.deepEqual(
    records.map((r) => r.msg),
    ['w'],
  );
  assert.equal(lines.suppressed, 0);
});
