/**
 * The stats document of a router run by several workers (spec: corerouter.md §8): uWSGI's
 * fields in uWSGI's order, built from every worker's own document and the primary's parts.
 * uWSGI shows the first gateway process only; here the figures are the whole router's:
 * - `pid`, `uid`, `gid`, `cwd`, the listener names: the primary's (it keeps its pid across
 *   reloads and owns the sockets);
 * - `active_sessions`, `static_nodes[].hits`, counters, `http_router` figures: summed over
 *   every worker, draining ones included; `static_nodes[].grace`: the latest;
 * - `subscriptions`, `subscription_packets`: the primary's table and receiver, with each
 *   node's `ref` summed from the workers' open sessions;
 * - `cheap`: 1 while every serving worker is cheap;
 * - `uwrouter.processes` (uwrouter's own): one entry per worker with its accepted
 *   connections since it started, the accept balance.
 */
import type { StatsSection } from '../corerouter/types.ts';
import type { WorkerStatsAnswer } from './messages.ts';

type Doc = Record<string, unknown>;

export interface WorkerFigures {
  /** `uWSGI http 1` */
  title: string;
  pid: number;
  generation: number;
  state: string;
  /** null: no answer in time */
  answer: WorkerStatsAnswer | null;
  /** the worker runs the current configuration */
  current: boolean;
}

export interface PrimaryParts {
  routerName: string;
  version: string;
  /** listener names, then subscription server addresses */
  socketNames: readonly string[];
  /** sections the primary owns (subscriptions, subscription_packets), by stats name */
  sections: readonly StatsSection[];
  /** the primary's own counters for this router (refused stats connections) */
  counters: ReadonlyMap<string, number>;
}

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Numbers added, objects merged key by key; anything else: the first value seen. */
function addInto(target: Doc, source: Doc): void {
  for (const [k, v] of Object.entries(source)) {
    const t = target[k];
    if (typeof v === 'number' && typeof t === 'number') target[k] = t + v;
    else if (isObject(v) && isObject(t)) addInto(t, v);
    else if (!(k in target)) target[k] = isObject(v) ? structuredClone(v) : v;
  }
}

function mergeStaticNodes(lists: unknown[]): Doc[] {
  const byName = new Map<string, Doc>();
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const n of list as Doc[]) {
      const name = String(n.name);
      const seen = byName.get(name);
      if (!seen) {
        byName.set(name, { ...n });
        continue;
      }
      seen.hits = Number(seen.hits) + Number(n.hits);
      seen.grace = Math.max(Number(seen.grace), Number(n.grace));
    }
  }
  return [...byName.values()];
}

export function mergeStatsDocuments(parts: PrimaryParts, workers: readonly WorkerFigures[]): Doc {
  const answered = workers.filter((w) => w.answer !== null);
  const docs = answered.map((w) => (w.answer as WorkerStatsAnswer).doc);
  const template = answered.find((w) => w.current)?.answer?.doc ?? docs[0];
  const own = new Map(parts.sections.map((s) => [s.statsName, s]));
  const out: Doc = {
    version: template?.version ?? parts.version,
    pid: process.pid,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    cwd: process.cwd(),
    active_sessions: docs.reduce((n, d) => n + (Number(d.active_sessions) || 0), 0),
    [parts.routerName]: [...parts.socketNames],
  };
  const keys = template ? Object.keys(template) : [...own.keys(), 'cheap', 'uwrouter'];
  for (const k of keys) {
    if (k in out) continue;
    const section = own.get(k);
    if (section) out[k] = section.statsJson();
    else if (k === 'static_nodes') out[k] = mergeStaticNodes(docs.map((d) => d[k]));
    else if (k === 'cheap') {
      const serving = answered.filter((w) => w.current).map((w) => (w.answer as WorkerStatsAnswer).doc.cheap);
      out[k] = serving.length > 0 && serving.every((c) => c === 1) ? 1 : 0;
    } else if (k === 'uwrouter') {
      const counters: Doc = Object.fromEntries(parts.counters);
      for (const d of docs) {
        const c = (d.uwrouter as Doc | undefined)?.counters;
        if (isObject(c)) addInto(counters, c);
      }
      out[k] = {
        counters,
        processes: workers.map((w) => ({
          name: w.title,
          pid: w.pid,
          generation: w.generation,
          state: w.state,
          answered: w.answer !== null,
          accepted: w.answer?.accepted ?? 0,
          active_sessions: Number(w.answer?.doc.active_sessions) || 0,
        })),
      };
    } else {
      const merged: Doc = {};
      let plain: unknown;
      for (const d of docs) {
        const v = d[k];
        if (isObject(v)) addInto(merged, v);
        else if (plain === undefined) plain = v;
      }
      out[k] = Object.keys(merged).length > 0 ? merged : (plain ?? null);
    }
  }
  return out;
}
