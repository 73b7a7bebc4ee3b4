/**
 * uWSGI's stats JSON layout (spec: corerouter.md §8): TAB indentation, one member per line,
 * the socket list entries printed without indentation. Unlike uWSGI, strings are escaped
 * and the output is always valid JSON. `minified` gives the `--stats-minified` form.
 */

type Json = string | number | boolean | null | Json[] | { [k: string]: Json | undefined };

function render(v: Json | undefined, depth: number, out: string[]): void {
  if (v === null || v === undefined) {
    out.push('null');
    return;
  }
  if (typeof v !== 'object') {
    out.push(JSON.stringify(v));
    return;
  }
  const pad = '\t'.repeat(depth + 1);
  const close = '\t'.repeat(depth);
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push('[]');
      return;
    }
    // spec: lists of names (the bound sockets) are printed unindented
    const flat = v.every((x) => typeof x !== 'object' || x === null);
    out.push('[\n');
    v.forEach((item, i) => {
      if (!flat) out.push(pad);
      render(item, depth + 1, out);
      out.push(i < v.length - 1 ? ',\n' : '\n');
    });
    out.push(`${close}]`);
    return;
  }
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  out.push('{\n');
  keys.forEach((k, i) => {
    out.push(`${pad}${JSON.stringify(k)}:`);
    render(v[k], depth + 1, out);
    out.push(i < keys.length - 1 ? ',\n' : '\n');
  });
  out.push(`${close}}`);
}

export function renderStatsJson(doc: Record<string, unknown>, minified = false): string {
  if (minified) return JSON.stringify(doc);
  const out: string[] = [];
  render(doc as Json, 0, out);
  return out.join('');
}
