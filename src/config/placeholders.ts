/**
 * The expansion passes over every collected option value, in uWSGI's order (uwsgi 2.0
 * core/uwsgi.c: `$` then `@` then `%`): environment, files, then `%(NAME)` references to
 * the first option or placeholder called NAME, resolved recursively (a reference inside a
 * referenced value is expanded too, as uWSGI's rescan does), with cycles refused.
 */
import type { OptionSpec } from './config.ts';
import { type Expanded, expandEnvironment, expandFiles, replaceTags } from './expand.ts';
import { nearestName } from './suggest.ts';

/** One option occurrence as collected (argv, environment, ini file, or `set`). */
export interface CollectedEntry {
  /** the name as written (after ini magic); maybe an alias, maybe unknown */
  typed: string;
  spec: OptionSpec | undefined;
  /** the value as written; undefined = given without a value */
  raw: string | undefined;
  /** `file:line`, `environment UWSGI_X`, or undefined for the command line */
  origin: string | undefined;
  /** an unknown ini key (a placeholder if something refers to it, else an error) */
  unknownIniKey?: boolean;
  /** defined by set-placeholder/set-ph: a placeholder, never an option */
  placeholderOnly?: boolean;
  /** consumed while collecting (`ini`, `set`): not expanded again, as uWSGI's immediate options */
  consumed?: boolean;
}

export interface ExpansionResult {
  /** the expanded value of each entry (undefined where raw was) */
  values: Array<string | undefined>;
  /** names that `%(NAME)` referred to */
  referenced: Set<string>;
  errors: string[];
}

/** How an error about `entry` starts: its origin, or the option as typed on the command line. */
export function where(entry: CollectedEntry): string {
  return entry.origin ? `${entry.origin}: ` : `option "--${entry.typed}": `;
}

export function expandValues(
  entries: readonly CollectedEntry[],
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): ExpansionResult {
  const errors: string[] = [];
  const values: Array<string | undefined> = entries.map((e) => e.raw);
  const failed = new Set<number>();
  const pass = (fn: (text: string) => Expanded): void => {
    for (let i = 0; i < entries.length; i++) {
      const v = values[i];
      if (v === undefined || entries[i].consumed || failed.has(i)) continue;
      const r = fn(v);
      if (r.ok) values[i] = r.value;
      else {
        failed.add(i);
        errors.push(`${where(entries[i])}${r.error}`);
      }
    }
  };
  pass((t) => expandEnvironment(t, env));
  pass((t) => expandFiles(t, readFile));

  // `%(NAME)`: the first entry written NAME (or whose option is canonically NAME)
  const first = new Map<string, number>();
  entries.forEach((e, i) => {
    if (!first.has(e.typed)) first.set(e.typed, i);
    if (e.spec && !e.placeholderOnly && !first.has(e.spec.name)) first.set(e.spec.name, i);
  });
  const referenced = new Set<string>();
  const resolved = new Map<number, Expanded>();
  const resolve = (i: number, stack: readonly number[]): Expanded => {
    const done = resolved.get(i);
    if (done) return done;
    const v = values[i];
    if (v === undefined || entries[i].consumed) return { ok: true, value: v ?? '' };
    const r = replaceTags(v, '%', (name) => {
      if (/\s/.test(name)) {
        return { ok: false, error: `placeholder arithmetic "%(${name})" is not supported by uwrouter` };
      }
      referenced.add(name);
      const j = first.get(name);
      if (j === undefined) {
        const near = nearestName(name, [...first.keys()]);
        const hint = near ? `; did you mean "%(${near})"?` : '';
        return {
          ok: false,
          error: `"%(${name})" names no option or placeholder of this configuration${hint}`,
        };
      }
      if (j === i || stack.includes(j)) {
        return { ok: false, error: `"%(${name})" refers back to itself` };
      }
      if (entries[j].raw === undefined) {
        return { ok: false, error: `"%(${name})" refers to an option given without a value` };
      }
      const inner = resolve(j, [...stack, i]);
      return inner.ok ? inner : { ok: false, error: `"%(${name})" cannot be expanded (see its own error)` };
    });
    resolved.set(i, r);
    return r;
  };
  for (let i = 0; i < entries.length; i++) {
    if (values[i] === undefined || entries[i].consumed || failed.has(i)) continue;
    const r = resolve(i, []);
    if (r.ok) values[i] = r.value;
    else errors.push(`${where(entries[i])}${r.error}`);
  }
  return { values, referenced, errors };
}
