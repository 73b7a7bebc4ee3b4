/**
 * uWSGI's stats JSON layout (spec: corerouter.md §8): TAB indentation, one member per line,
 * the socket list entries printed without indentation. Unlike uWSGI, strings are escaped
 * and the output is always valid JSON. `minified` gives the `--stats-minified` form
 * (exactly `JSON.stringify`).
 *
 * A table of 50,000 subscription pools is a 22 MB document: built as one string it blocked
 * routing for 1.5–2 s. Such a list is a `LazyJsonArray`, whose items are built only while
 * the document is written, and `statsJsonChunks` yields the document piece by piece (one
 * piece per lazy item) so the stats server can write it in slices between which the event
 * loop runs. Joining the chunks gives exactly `renderStatsJson`'s bytes.
 */

type Json =
  | string
  | number
  | boolean
  | null
  | Json[]
  | LazyJsonArray<object>
  | { [k: string]: Json | undefined };

/**
 * An array whose items (objects) are built one at a time when rendered. `toJSON` builds
 * them all, for `JSON.stringify` and tests.
 */
export class LazyJsonArray<T extends object> {
  readonly length: number;
  private readonly build: (i: number) => T;

  constructor(length: number, build: (i: number) => T) {
    this.length = length;
    this.build = build;
  }

  item(i: number): T {
    return this.build(i);
  }

  toJSON(): T[] {
    const out: T[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.build(i);
    return out;
  }
}

function objectKeys(v: { [k: string]: Json | undefined }): string[] {
  return Object.keys(v).filter((k) => v[k] !== undefined);
}

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
  if (v instanceof LazyJsonArray) {
    if (v.length === 0) {
      out.push('[]');
      return;
    }
    out.push('[\n');
    for (let i = 0; i < v.length; i++) {
      out.push(pad);
      render(v.item(i) as unknown as Json, depth + 1, out);
      out.push(i < v.length - 1 ? ',\n' : '\n');
    }
    out.push(`${close}]`);
    return;
  }
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
  const keys = objectKeys(v);
  out.push('{\n');
  keys.forEach((k, i) => {
    out.push(`${pad}${JSON.stringify(k)}:`);
    render(v[k], depth + 1, out);
    out.push(i < keys.length - 1 ? ',\n' : '\n');
  });
  out.push(`${close}}`);
}

function renderOne(v: Json | undefined, depth: number, minified: boolean): string {
  if (minified) return JSON.stringify(v === undefined ? null : v);
  const out: string[] = [];
  render(v, depth, out);
  return out.join('');
}

/** Does `v` hold a LazyJsonArray anywhere (not looking inside one)? */
function holdsLazy(v: Json | undefined): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (v instanceof LazyJsonArray) return true;
  if (Array.isArray(v)) return v.some(holdsLazy);
  for (const k in v) if (holdsLazy(v[k])) return true;
  return false;
}

/**
 * The document in pieces: a subtree without lazy arrays is one piece, a lazy array is one
 * piece per item (plus the punctuation around it).
 */
function* chunks(v: Json | undefined, depth: number, minified: boolean): Generator<string> {
  if (!holdsLazy(v)) {
    yield renderOne(v, depth, minified);
    return;
  }
  const pad = minified ? '' : '\t'.repeat(depth + 1);
  const close = minified ? '' : '\t'.repeat(depth);
  const nl = minified ? '' : '\n';
  if (v instanceof LazyJsonArray) {
    if (v.length === 0) {
      yield '[]';
      return;
    }
    yield `[${nl}`;
    for (let i = 0; i < v.length; i++) {
      const item = renderOne(v.item(i) as unknown as Json, depth + 1, minified);
      yield `${pad}${item}${i < v.length - 1 ? `,${nl}` : nl}`;
    }
    yield `${close}]`;
    return;
  }
  if (Array.isArray(v)) {
    // holds a lazy array, so it has an object item: never a flat list
    yield `[${nl}`;
    for (let i = 0; i < v.length; i++) {
      yield pad;
      // JSON.stringify writes undefined array items as null, like render()
      yield* chunks(v[i], depth + 1, minified);
      yield i < v.length - 1 ? `,${nl}` : nl;
    }
    yield `${close}]`;
    return;
  }
  const o = v as { [k: string]: Json | undefined };
  const keys = objectKeys(o);
  yield `{${nl}`;
  for (let i = 0; i < keys.length; i++) {
    yield `${pad}${JSON.stringify(keys[i])}:`;
    yield* chunks(o[keys[i]], depth + 1, minified);
    yield i < keys.length - 1 ? `,${nl}` : nl;
  }
  yield `${close}}`;
}

export function renderStatsJson(doc: Record<string, unknown>, minified = false): string {
  return renderOne(doc as Json, 0, minified);
}

/** `renderStatsJson(doc, minified)` in pieces (see the file comment). */
export function statsJsonChunks(doc: Record<string, unknown>, minified = false): Generator<string> {
  return chunks(doc as Json, 0, minified);
}
