/**
 * uWSGI-style ini files: one section (default `uwsgi`) read as a list of options in file
 * order, repeated keys kept as repeated options. Reading only; option names and values
 * are checked (and magic variables expanded) by the loader, which knows the registry.
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.ts';

export const DEFAULT_INI_SECTION = 'uwsgi';

export interface IniEntry {
  key: string;
  /** undefined for a bare key (a flag set to true) */
  value: string | undefined;
  /** absolute path of the file */
  file: string;
  line: number;
}

/**
 * Split `FILE[:SECTION]`. The section is the text after the last ':' only when what
 * precedes it ends in `.ini`, so `C:\x.ini` style or paths with ':' stay whole.
 */
export function splitIniArgument(arg: string): { file: string; section: string } {
  const m = /^(.*\.ini):([^/\\:]*)$/i.exec(arg);
  if (m) return { file: m[1], section: m[2] === '' ? DEFAULT_INI_SECTION : m[2] };
  return { file: arg, section: DEFAULT_INI_SECTION };
}

/** Does a positional argument name an ini file (`FILE.ini` or `FILE.ini:section`)? */
export function looksLikeIniArgument(arg: string): boolean {
  return /\.ini(:[^/\\:]*)?$/i.test(arg);
}

/**
 * Parse ini text; lines outside `section` are skipped. Pure, for tests. Returns undefined
 * when the file has no such section (most likely a typo in `FILE:SECTION`). Keys and values
 * are as written: the loader expands magic variables (expand.ts), knowing the file's context.
 */
export function parseIni(text: string, file: string, section: string): IniEntry[] | undefined {
  const out: IniEntry[] = [];
  let current: string | undefined;
  let found = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const end = line.indexOf(']');
      current = line.slice(1, end === -1 ? undefined : end).trim();
      if (current === section) found = true;
      continue;
    }
    // uWSGI reads every occurrence of the section, so a split section still counts.
    if (current !== section) continue;
    const eq = line.indexOf('=');
    if (eq === -1) {
      out.push({ key: line, value: undefined, file, line: i + 1 });
    } else {
      const value = line.slice(eq + 1).trim();
      out.push({ key: line.slice(0, eq).trim(), value, file, line: i + 1 });
    }
  }
  return found ? out : undefined;
}

/** Read `section` of the ini file at `path` (resolved against `cwd`). */
export function readIniFile(
  path: string,
  section: string,
  cwd: string,
): { file: string; entries: IniEntry[] } {
  const file = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String(err.code) : String(err);
    throw new ConfigError(`cannot read ini file "${path}": ${reason}`);
  }
  const entries = parseIni(text, file, section);
  if (!entries) throw new ConfigError(`ini file "${path}" has no [${section}] section`);
  return { file, entries };
}
