/**
 * Compares the shape of our stats document with a real uWSGI capture
 * (test/fixtures/*-stats.json): for every object in the capture, ours has the same field
 * names, in the same order, with the same JSON types, recursively through arrays (each of our
 * elements against the capture's first one). Values are not compared (pids, ports, times).
 *
 * Our fields the capture lacks must be listed (`extra`), and so must capture fields the
 * configuration under test does not produce (`absent`, e.g. `subscriptions` without a
 * subscription server, as in uWSGI); a listed path that does not occur is reported too, so
 * the lists stay exact. Paths: `uwrouter`, `subscriptions[].nodes[].name`.
 */

export type JsonKind = 'integer' | 'number' | 'string' | 'boolean' | 'null' | 'array' | 'object';

export function jsonKind(v: unknown): JsonKind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'object';
    default:
      throw new TypeError(`not a JSON value: ${typeof v}`);
  }
}

export interface ShapeAllowances {
  /** our fields that uWSGI's capture does not have */
  extra?: readonly string[];
  /** capture fields this configuration does not produce */
  absent?: readonly string[];
}

/** Every way `ours` differs in shape from `reference`; empty when they agree. */
export function shapeDifferences(reference: unknown, ours: unknown, allow: ShapeAllowances = {}): string[] {
  const out: string[] = [];
  const extra = new Set(allow.extra ?? []);
  const absent = new Set(allow.absent ?? []);
  const used = new Set<string>();
  compare(reference, ours, '', { out, extra, absent, used });
  for (const p of [...extra, ...absent]) {
    if (!used.has(p)) out.push(`${p}: listed as allowed but does not occur`);
  }
  return out;
}

interface Walk {
  out: string[];
  extra: Set<string>;
  absent: Set<string>;
  used: Set<string>;
}

function compare(ref: unknown, ours: unknown, path: string, w: Walk): void {
  const rk = jsonKind(ref);
  const ok = jsonKind(ours);
  // uWSGI prints every number as an integer; a float where it has one is a difference
  if (rk !== ok && !(rk === 'number' && ok === 'integer')) {
    w.out.push(`${path || '(document)'}: uWSGI has ${rk}, ours is ${ok}`);
    return;
  }
  if (rk === 'array') {
    const r = ref as unknown[];
    const o = ours as unknown[];
    if (r.length === 0) return;
    if (o.length === 0) {
      w.out.push(`${path}: empty, the capture has elements (set the test up so it has some)`);
      return;
    }
    for (const el of o) compare(r[0], el, `${path}[]`, w);
    return;
  }
  if (rk !== 'object') return;
  const r = ref as Record<string, unknown>;
  const o = ours as Record<string, unknown>;
  const at = (k: string): string => (path ? `${path}.${k}` : k);
  for (const k of Object.keys(r)) {
    if (k in o) compare(r[k], o[k], at(k), w);
    else if (w.absent.has(at(k))) w.used.add(at(k));
    else w.out.push(`${at(k)}: missing (uWSGI has it)`);
  }
  for (const k of Object.keys(o)) {
    if (k in r) continue;
    if (w.extra.has(at(k))) w.used.add(at(k));
    else w.out.push(`${at(k)}: not in uWSGI's capture (list it as extra if meant)`);
  }
  const refOrder = Object.keys(r).filter((k) => k in o);
  const ourOrder = Object.keys(o).filter((k) => k in r);
  if (refOrder.join() !== ourOrder.join()) {
    w.out.push(`${path || '(document)'}: field order ${ourOrder.join(',')}, uWSGI ${refOrder.join(',')}`);
  }
}
