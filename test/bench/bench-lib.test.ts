/**
 * The bench's own arithmetic (bench/lib): wrk's report parsed (real wrk 4.1 captures in
 * test/fixtures/bench/), medians of runs, a .cpuprofile's self times and groups, CPU deltas
 * over a process tree whose members come and go, `npm start`'s node flags, narrowing a
 * scenario to some topologies, the summary table and its place in bench/RESULTS.md. The
 * benchmarks themselves are not run here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeFlagsOf } from '../../bench/lib/context.ts';
import { type Measurement, summarize } from '../../bench/lib/measure.ts';
import {
  cpuSince,
  cpuSnapshot,
  parseSmapsRollup,
  procCpuSeconds,
  processTree,
  procMemoryBytes,
} from '../../bench/lib/proc.ts';
import { type CpuProfile, frameGroup, profileReport, selfTimes } from '../../bench/lib/profile.ts';
import { spliceSummary, summaryMarkdown } from '../../bench/lib/results-md.ts';
import { narrowScenario, topology, type WrkScenario } from '../../bench/lib/scenario.ts';
import { median, ratio } from '../../bench/lib/stats.ts';
import { type Comparison, summaryTable } from '../../bench/lib/summary.ts';
import { parseDurationMs, parseWrkOutput, wrkErrorCount } from '../../bench/lib/wrk.ts';

const ROOT = '/repo';

const wrkCapture = (name: string) =>
  readFileSync(new URL(`../fixtures/bench/${name}`, import.meta.url), 'utf8');

test("wrk's durations: us, ms and s to milliseconds; anything else is NaN", () => {
  assert.equal(parseDurationMs('120.00us'), 0.12);
  assert.equal(parseDurationMs('2.51ms'), 2.51);
  assert.equal(parseDurationMs('1.01s'), 1010);
  assert.ok(Number.isNaN(parseDurationMs('12 parsecs')));
});

test('a wrk --latency report: requests, rate, latency percentiles in ms, no errors', () => {
  const r = parseWrkOutput(wrkCapture('wrk-ok.txt'));
  assert.equal(r.requests, 17057);
  assert.equal(r.durationSeconds, 1.01);
  assert.equal(r.requestsPerSecond, 16831.01);
  assert.deepEqual(r.latencyMs, { avg: 1.6, max: 41.51, p50: 0.12, p75: 0.654, p90: 2.51, p99: 28.21 });
  assert.equal(wrkErrorCount(r), 0);
});

test('a wrk report with non-2xx answers and one with socket errors: every error counted', () => {
  const bad = parseWrkOutput(wrkCapture('wrk-non2xx.txt'));
  assert.equal(bad.errors.non2xx3xx, 23845);
  assert.equal(wrkErrorCount(bad), 23845);
  assert.ok(Math.abs(bad.latencyMs.avg - 0.75232) < 1e-9, `avg ${bad.latencyMs.avg}`);
  const reset = parseWrkOutput(wrkCapture('wrk-socket-errors.txt'));
  assert.deepEqual(reset.errors, { connect: 0, read: 3634, write: 0, timeout: 0, non2xx3xx: 0 });
  assert.equal(reset.requestsPerSecond, 1801.81);
  assert.equal(wrkErrorCount(reset), 3634);
});

test('medians: the middle value, the mean of the two middle ones, NaNs left out', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 10]), 3.5);
  assert.equal(median([Number.NaN, 2, 8]), 5);
  assert.ok(Number.isNaN(median([])));
});

function measurement(
  rps: number,
  cpuUser: number,
  cpuSystem: number,
  rss: number,
  read = 0,
  pss = rss / 2,
  processes = 2,
): Measurement {
  const wrk = parseWrkOutput(wrkCapture('wrk-ok.txt'));
  return {
    wrk: { ...wrk, requestsPerSecond: rps, errors: { ...wrk.errors, read } },
    cpuSeconds: Number.NaN,
    cpuUsPerRequest: cpuUser + cpuSystem,
    cpuUserUsPerRequest: cpuUser,
    cpuSystemUsPerRequest: cpuSystem,
    rssBytes: rss,
    pssBytes: pss,
    privateBytes: pss / 2,
    processes,
  };
}

test("a topology's runs summarised: medians per figure, the largest RSS, errors summed", () => {
  const s = summarize([
    measurement(9000, 30, 10, 100e6, 2, 90e6, 3),
    measurement(12000, 20, 8, 140e6, 0, 60e6, 2),
    measurement(10000, 25, 12, 120e6, 5, 70e6, 2),
  ]);
  assert.equal(s.runs, 3);
  assert.equal(s.requestsPerSecond, 10000);
  assert.equal(s.cpuUserUsPerRequest, 25);
  assert.equal(s.cpuSystemUsPerRequest, 10);
  assert.equal(s.cpuUsPerRequest, 37);
  assert.equal(s.rssBytes, 140e6);
  // the largest of each memory figure, each from its own run (not the PSS of the largest-RSS run)
  assert.equal(s.pssBytes, 90e6);
  assert.equal(s.privateBytes, 45e6);
  assert.equal(s.processes, 3);
  assert.equal(s.errors, 7);
});

function frame(functionName: string, url = '') {
  return { functionName, url, lineNumber: 9, columnNumber: 0 };
}

test('frames are grouped: user code, Node internals, packages, native, GC, idle', () => {
  assert.equal(frameGroup(frame('pick', `file://${ROOT}/src/corerouter/x.js`), ROOT), 'user code');
  assert.equal(frameGroup(frame('pick', `file://${ROOT}/dist/corerouter/x.js`), ROOT), 'user code');
  assert.equal(frameGroup(frame('connect', 'node:net'), ROOT), 'Node internals');
  assert.equal(frameGroup(frame('info', `file://${ROOT}/node_modules/pino/pino.js`), ROOT), 'packages');
  assert.equal(frameGroup(frame('writeBuffer'), ROOT), 'native');
  assert.equal(frameGroup(frame('(program)'), ROOT), 'native');
  assert.equal(frameGroup(frame('(garbage collector)'), ROOT), 'GC');
  assert.equal(frameGroup(frame('(idle)'), ROOT), 'idle');
  // a file of the repository outside src/ and dist/ (a test helper) is not user code
  assert.equal(frameGroup(frame('helper', `file://${ROOT}/test/x.ts`), ROOT), 'packages');
});

test('each sample is charged the time until the next one; frames are summed over nodes and profiles', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('pick', `file://${ROOT}/src/a.ts`) },
      { id: 3, callFrame: frame('connect', 'node:net') },
      { id: 4, callFrame: frame('(garbage collector)') },
      // the same function reached by another path: one frame in the report
      { id: 5, callFrame: frame('pick', `file://${ROOT}/src/a.ts`) },
    ],
    startTime: 0,
    endTime: 1000,
    samples: [2, 3, 4, 5],
    // µs since the previous sample: sample i lasts until sample i+1
    timeDeltas: [0, 100, 300, 500],
  };
  const frames = selfTimes([profile, profile], ROOT);
  const us = (name: string) => frames.find((f) => f.name === name)?.selfUs;
  // pick: 100 (first sample) + 250 (the last: the mean interval, 1000/4), twice
  assert.equal(us('pick'), 2 * (100 + 250));
  assert.equal(us('connect'), 2 * 300);
  assert.equal(us('(garbage collector)'), 2 * 500);
  assert.equal(frames[0]!.name, '(garbage collector)');
  assert.equal(frames.find((f) => f.name === 'pick')!.where, 'src/a.ts:10');
});

/**
 * A node process that starts a child burning 0.4 s of CPU (its own CPU time, user + system,
 * not the wall clock: the machine is shared), which exits 1.5 s later.
 */
const PARENT = `
const { spawn } = require('node:child_process');
const child = 'const used = () => { const u = process.cpuUsage(); return u.user + u.system; };' +
  'let x = 0; while (used() < 400000) for (let i = 0; i < 1e5; i++) x += i; setTimeout(() => {}, 1500)';
spawn(process.execPath, ['-e', child], { stdio: 'ignore' });
setTimeout(() => {}, 60000);
`;

test('CPU over a process tree: a child that exits between two readings takes nothing away', async () => {
  const parent = spawn(process.execPath, ['-e', PARENT], { stdio: 'ignore' });
  try {
    const pid = parent.pid!;
    // wait until the child has burnt its CPU (each look reads all of /proc: not too often)
    const deadline = Date.now() + 30000;
    while (procCpuSeconds(pid) - procCpuSeconds(pid, { tree: false }) < 0.3 && Date.now() < deadline)
      await sleep(100);
    assert.equal(processTree(pid).length, 2, 'the child is running');
    const snapshot = cpuSnapshot(pid);
    const naive = procCpuSeconds(pid);
    while (processTree(pid).length > 1 && Date.now() < deadline) await sleep(100);
    assert.equal(processTree(pid).length, 1, 'the child exited');
    const used = cpuSince(snapshot, pid);
    assert.ok(used.user >= 0 && used.system >= 0, `CPU since the snapshot: ${JSON.stringify(used)}`);
    // the sum of the live tree before and after is what went negative in a bench run
    assert.ok(procCpuSeconds(pid) - naive < -0.2, 'the naive difference loses the exited child');
  } finally {
    parent.kill('SIGKILL');
  }
});

test('smaps_rollup of a uwrouter primary and its worker: RSS, PSS and private memory in bytes', () => {
  // captured from `node dist/cli.js --http … --http-to …` (1 worker), idle: VmRSS 75636 and
  // 75600 kB, the node binary's ~50 MB of file pages shared between the two
  const primary = parseSmapsRollup(wrkCapture('smaps_rollup-uwrouter-primary.txt'));
  const worker = parseSmapsRollup(wrkCapture('smaps_rollup-uwrouter-worker.txt'));
  assert.deepEqual(primary, { rss: 75636 * 1024, pss: 49244 * 1024, private: (148 + 25468) * 1024 });
  assert.deepEqual(worker, { rss: 75600 * 1024, pss: 49289 * 1024, private: (300 + 25376) * 1024 });
  // Pss_Dirty / Pss_Anon / Pss_File and SwapPss are not taken for Pss
  assert.equal(parseSmapsRollup('Pss_Anon:  10 kB\nSwapPss:  20 kB\n').pss, Number.NaN);
  // not smaps_rollup (a /proc/PID/status): nothing made up
  const status = parseSmapsRollup('Name:\tnode\nVmRSS:\t   42984 kB\n');
  assert.ok(Number.isNaN(status.rss) && Number.isNaN(status.pss) && Number.isNaN(status.private));
});

test('memory of a live process tree: a node child shares the binary, so the PSS sum is below the RSS sum', async () => {
  const parent = spawn(process.execPath, ['-e', PARENT_IDLE], { stdio: 'ignore' });
  const exited = new Promise((resolve) => parent.once('exit', resolve));
  let pids: number[] = [];
  try {
    const pid = parent.pid!;
    const deadline = Date.now() + 30000;
    while (processTree(pid).length < 2 && Date.now() < deadline) await sleep(100);
    await sleep(300);
    pids = processTree(pid);
    const tree = procMemoryBytes(pid);
    const alone = procMemoryBytes(pid, { tree: false });
    assert.equal(tree.processes, 2);
    assert.equal(alone.processes, 1);
    assert.ok(tree.rss > alone.rss, 'the child counts in the tree');
    // two node processes map the same binary: each shared page counts once per process in RSS,
    // halved in PSS; at least 10 MiB of it here (the binary's text alone is ~50 MB)
    assert.ok(tree.rss - tree.pss > 10 * 1048576, `RSS ${tree.rss} PSS ${tree.pss}`);
    assert.ok(tree.private > 0 && tree.private < tree.pss, `private ${tree.private} PSS ${tree.pss}`);
  } finally {
    // the child too: it would outlive its killed parent for a minute
    for (const p of pids.filter((x) => x !== parent.pid)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    parent.kill('SIGKILL');
  }
  await exited; // reaped: its /proc entry is gone
  assert.equal(procMemoryBytes(parent.pid!).processes, 0);
});

const PARENT_IDLE = `
require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
setTimeout(() => {}, 60000);
`;

test("npm start's node flags: the --words right after `node`", () => {
  assert.deepEqual(
    nodeFlagsOf(
      'bash certs/make-dev-certs.sh && node --single-threaded-gc --max-semi-space-size=8 src/cli.ts x.ini',
    ),
    ['--single-threaded-gc', '--max-semi-space-size=8'],
  );
  assert.deepEqual(nodeFlagsOf('node src/cli.ts --http :8080'), []);
  assert.deepEqual(nodeFlagsOf('tsx src/cli.ts --http :8080'), []);
});

test('a scenario narrowed to some topologies keeps the pairs between them and a base among them', () => {
  const launch = async () => ({ url: 'http://127.0.0.1:1/' });
  const ref = topology('ref', 'reference', 'reference', launch);
  const uwsgi = topology('x/uwsgi', "uWSGI's", 'uwsgi', launch);
  const ours = topology('x', 'uwrouter', 'uwrouter', launch);
  const nginx = topology('x/nginx', 'nginx', 'peer', launch);
  const s: WrkScenario = {
    id: 'x',
    title: 'x',
    about: '',
    topologies: [ref, uwsgi, ours, nginx],
    base: uwsgi,
    pairs: [
      [ours, uwsgi],
      [ours, nginx],
    ],
  };
  const n = narrowScenario(s, new Set(['x', 'x/nginx']))!;
  assert.deepEqual(
    n.topologies.map((t) => t.id),
    ['x', 'x/nginx'],
  );
  assert.equal(n.base, nginx);
  assert.deepEqual(n.pairs, [[ours, nginx]]);
  assert.equal(narrowScenario(s, new Set(['nothing'])), undefined);
});

test('the grouped profile report: shares of busy time per group, idle left out', () => {
  const frames = [
    { name: '(idle)', where: '', group: 'idle' as const, selfUs: 5000 },
    { name: 'writev', where: '', group: 'native' as const, selfUs: 3000 },
    { name: 'pick', where: 'dist/a.js:3', group: 'user code' as const, selfUs: 1000 },
  ];
  const text = profileReport(frames);
  assert.match(text, /^busy 4 ms, idle 5 ms/);
  assert.match(text, /\| user code +\| +1 \| +25\.0% \|/);
  assert.match(text, /\| native +\| +3 \| +75\.0% \|/);
  assert.doesNotMatch(text, /\(idle\) \|/);
});

const comparison: Comparison = {
  path: 'HTTP router → uwsgi node, keepalive',
  unit: 'req/s',
  cpuUnit: 'µs/req',
  higherIsBetter: true,
  ours: {
    label: 'uwrouter',
    value: 10000,
    cpuUser: 30,
    cpuSystem: 15,
    rssBytes: 120 * 1048576,
    pssBytes: 80 * 1048576,
  },
  peer: {
    label: "uWSGI's HTTP router",
    value: 12500,
    cpuUser: 10,
    cpuSystem: 20,
    rssBytes: 12 * 1048576,
    pssBytes: 7.5 * 1048576,
  },
};

test('the summary table: each figure beside the peer, ratios, CPU user + system, RSS and PSS in MiB', () => {
  const lines = summaryTable([comparison]).split('\n');
  assert.equal(lines.length, 3);
  const cells = lines[2]!.split('|').map((c) => c.trim());
  assert.deepEqual(cells.slice(1, -1), [
    'HTTP router → uwsgi node, keepalive',
    '10,000 req/s',
    "uWSGI's HTTP router",
    '12,500 req/s',
    '0.80×',
    '45.0 (30.0 + 15.0) µs/req',
    '30.0 (10.0 + 20.0) µs/req',
    '1.50×',
    '120.0 / 12.0',
    '80.0 / 7.5',
  ]);
  assert.match(lines[0]!, /RSS MiB uwrouter \/ peer \| PSS MiB uwrouter \/ peer/);
  // lower-is-better figures (KiB per tunnel) say so beside the ratio
  const kib = summaryTable([{ ...comparison, unit: 'KiB/tunnel', higherIsBetter: false }]);
  assert.match(kib, /0\.80× \(lower is better\)/);
  assert.equal(ratio(1, 0), '—');
});

test("RESULTS.md: the summary goes before the first section, and a later run's replaces it", () => {
  const head = {
    date: '2026-12-01T00:00:00Z',
    commit: 'abc1234',
    machine: 'node v24, 2 CPUs',
    uwrouter: 'node dist/cli.js',
    load: '1-min load average 2.00–3.00 (median 2.50) on 2 cores',
    settings: '3 alternating rounds',
  };
  const block = (commit: string) =>
    summaryMarkdown({
      head: { ...head, commit },
      comparisons: summaryTable([comparison]),
      jsonPath: '/nowhere/bench/out/x.json',
      profile: '### CPU profile: x\n\nbusy 4 ms',
    });
  const doc = '# Benchmark results\n\nIntro.\n\n## HTTP router\n\nold tables\n';
  const once = spliceSummary(doc, block('abc1234'));
  assert.ok(once.startsWith('# Benchmark results\n\nIntro.\n\n<!-- bench:summary'));
  assert.ok(once.endsWith('<!-- /bench:summary -->\n\n## HTTP router\n\nold tables\n'));
  assert.match(once, /2026-12-01T00:00:00Z, commit abc1234\. node v24, 2 CPUs\./);
  assert.match(once, /1-min load average 2\.00–3\.00/);
  assert.match(once, /\n#### CPU profile: x\n\nbusy 4 ms\n<!-- \/bench:summary -->/);
  const twice = spliceSummary(once, block('def5678'));
  assert.equal(twice.match(/<!-- bench:summary/g)?.length, 1);
  assert.doesNotMatch(twice, /abc1234/);
  assert.match(twice, /commit def5678/);
  assert.ok(twice.endsWith('## HTTP router\n\nold tables\n'));
  // a file without sections: appended
  assert.ok(spliceSummary('# Results\n', block('x')).startsWith('# Results\n\n<!-- bench:summary'));
});
