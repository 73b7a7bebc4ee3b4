/**
 * The goals of issue 11 beside what this run measured (each a same-run ratio or a figure),
 * for the summary. A goal whose figures were not measured in this run is left out.
 */
import type { Plan } from './plan.ts';
import { planComparisons } from './plan.ts';
import { processTree } from './proc.ts';
import { summaryOf, type Topology, topologiesOf } from './scenario.ts';
import { fmt, markdownTable } from './stats.ts';

type Row = [goal: string, measured: string, met: string];

export function goalsTable(plan: Plan): string | undefined {
  const byId = new Map(topologiesOf(plan.scenarios).map((t) => [t.id, t]));
  const s = (id: string) => {
    const t = byId.get(id);
    return t && t.runs.length > 0 ? summaryOf(t) : undefined;
  };
  const rows: Row[] = [];
  const ratioGoal = (goal: string, a: string, b: string, min: number, field: 'rps' | 'cpu' = 'rps') => {
    const x = s(a);
    const y = s(b);
    if (!x || !y) return;
    const r =
      field === 'rps' ? x.requestsPerSecond / y.requestsPerSecond : x.cpuUsPerRequest / y.cpuUsPerRequest;
    const met = field === 'rps' ? r >= min : r <= min;
    rows.push([goal, `${fmt(r, 2)}×`, met ? 'met' : 'not met']);
  };
  ratioGoal('HTTP router keepalive ≥ 1.0× uWSGI req/s', 'http-uwsgi-ka', 'http-uwsgi-ka/uwsgi', 1.0);
  ratioGoal(
    'HTTP router keepalive CPU/request ≤ 1.1× uWSGI',
    'http-uwsgi-ka',
    'http-uwsgi-ka/uwsgi',
    1.1,
    'cpu',
  );
  ratioGoal('fastrouter ≥ 0.8× uWSGI req/s', 'fastrouter', 'fastrouter/uwsgi', 0.8);
  ratioGoal('HTTP router without keepalive ≥ 0.8× uWSGI req/s', 'http-uwsgi', 'http-uwsgi/uwsgi', 0.8);
  ratioGoal('rawrouter ≥ 0.8× uWSGI req/s', 'rawrouter', 'rawrouter/uwsgi', 0.8);
  ratioGoal(
    '--http-processes 2 ≥ 1.0× uWSGI with 2, no keepalive',
    'http-uwsgi-2p',
    'http-uwsgi-2p/uwsgi',
    1.0,
  );
  ratioGoal(
    '--http-processes 2 ≥ 1.0× uWSGI with 2, keepalive',
    'http-uwsgi-ka-2p',
    'http-uwsgi-ka-2p/uwsgi',
    1.0,
  );
  ratioGoal('scaling 1 → 2 processes ≥ 1.6×, no keepalive', 'http-uwsgi-2p', 'http-uwsgi', 1.6);
  ratioGoal('scaling 1 → 2 processes ≥ 1.6×, keepalive', 'http-uwsgi-ka-2p', 'http-uwsgi-ka', 1.6);
  for (const id of ['http-uwsgi-2p', 'http-uwsgi-ka-2p']) {
    const t = byId.get(id);
    if (t?.skipped) rows.push([`--http-processes 2 (${id})`, 'not measured', `skipped: ${t.skipped}`]);
  }
  ratioGoal('HTTP node ≥ 0.8× nginx req/s', 'http-node', 'http-node/nginx', 0.8);
  ratioGoal('HTTP node ≥ 2× http-proxy req/s', 'http-node', 'http-node/http-proxy', 2);
  ratioGoal('HTTP node ≥ 2× @fastify/http-proxy req/s', 'http-node', 'http-node/fastify-http-proxy', 2);
  // RSS per process under load: the largest one-process uwrouter topology after its runs
  const one = topologiesOf(plan.scenarios).filter(
    (t: Topology) => t.role === 'uwrouter' && t.runs.length > 0 && !t.id.endsWith('-2p'),
  );
  if (one.length > 0) {
    const worst = one.reduce((a, b) => (summaryOf(a).rssBytes >= summaryOf(b).rssBytes ? a : b));
    const mb = summaryOf(worst).rssBytes / 1e6;
    rows.push([
      'RSS under load ≤ 60 MB per router process',
      `${fmt(mb, 0)} MB (largest: ${worst.id})`,
      mb <= 60 ? 'met' : 'not met',
    ]);
  }
  for (const t of topologiesOf(plan.scenarios).filter((x) => x.id.endsWith('-2p') && x.role === 'uwrouter')) {
    if (t.runs.length === 0 || !t.router?.isRunning()) continue;
    const n = processTree(t.router.pid).length;
    rows.push([
      `RSS per process, ${t.id}`,
      `${fmt(summaryOf(t).rssBytes / 1e6 / n, 0)} MB (${n} processes)`,
      summaryOf(t).rssBytes / 1e6 / n <= 60 ? 'met' : 'not met',
    ]);
  }
  for (const c of planComparisons(plan)) {
    if (c.id?.startsWith('tunnel-'))
      rows.push([
        `idle websocket tunnel < 10 KiB (${c.path})`,
        `${fmt(c.ours.value, 2)} KiB`,
        c.ours.value < 10 ? 'met' : 'not met',
      ]);
    if (c.id === 'intake-top')
      rows.push([
        `${c.path.replace('subscription intake, ', '')}: all routable`,
        `${fmt(c.ours.value, 2)}% (uWSGI ${fmt(c.peer.value, 2)}%)`,
        c.ours.value >= 100 ? 'met' : 'not met',
      ]);
  }
  return rows.length > 0 ? markdownTable(['goal', 'measured', ''], rows) : undefined;
}
