/**
 * The goals of issue 11 beside what this run measured (each a same-run ratio or a figure),
 * for the summary. A goal whose figures were not measured in this run is left out.
 */
import type { Plan } from './plan.ts';
import { planComparisons } from './plan.ts';
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
  // Memory per process under load, after the runs: RSS (the goal's measure) beside PSS and
  // private memory, since RSS counts the node binary's shared pages once per process.
  const perProcess = (t: Topology) => {
    const m = summaryOf(t);
    const n = m.processes;
    return {
      n,
      rss: m.rssBytes / 1e6 / n,
      text: `RSS ${fmt(m.rssBytes / 1e6 / n, 0)} MB, PSS ${fmt(m.pssBytes / 1e6 / n, 0)} MB, private ${fmt(m.privateBytes / 1e6 / n, 0)} MB (${n} processes`,
    };
  };
  const measured = topologiesOf(plan.scenarios).filter(
    (t: Topology) => t.role === 'uwrouter' && t.runs.length > 0 && summaryOf(t).processes > 0,
  );
  const one = measured.filter((t) => !t.id.endsWith('-2p'));
  if (one.length > 0) {
    const worst = one.reduce((a, b) => (perProcess(a).rss >= perProcess(b).rss ? a : b));
    const p = perProcess(worst);
    rows.push([
      'RSS under load ≤ 60 MB per router process',
      `${p.text}; largest: ${worst.id})`,
      p.rss <= 60 ? 'met' : 'not met',
    ]);
  }
  for (const t of measured.filter((x) => x.id.endsWith('-2p'))) {
    const p = perProcess(t);
    rows.push([`RSS per process, ${t.id}`, `${p.text})`, p.rss <= 60 ? 'met' : 'not met']);
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
