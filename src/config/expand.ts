/**
 * uWSGI's configuration expansions (uwsgi 2.0 core/utils.c magic_sub, uwsgi_apply_config_pass;
 * core/uwsgi.c config_magic_table_fill; checked against the real uwsgi --show-config):
 * - in ini files, `%X` magic variables, replaced when the file is read: %p %s %d %e %n %c %o
 *   %x %0..%9 %i %j (this file), the upper-case ones for the first config file, %v %h %t %T
 *   %k %u %U %g %G %[ (process), `%%` = `%`; `%(` is left for placeholders. uWSGI turns any
 *   other `%X` into nothing; here it is an error naming it.
 * - in every value, after all options are known, in three passes: `$(NAME)` = environment
 *   variable, `@(FILE)` = the file's content (one trailing newline dropped), `%(NAME)` = the
 *   value of the first option or placeholder NAME (set by `set-placeholder`, `set`, or any
 *   unknown key of an ini file). uWSGI leaves an unset `$(NAME)` or unknown `%(NAME)` in the
 *   text; here each is an error, as is placeholder arithmetic (`%(a + 1)`).
 * Pure functions: the caller passes the environment, a file reader and the lookups.
 */
import { lstatSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { basename, dirname, sep } from 'node:path';
import { currentUserName, groupNameOf } from './identity.ts';

export type Expanded = { ok: true; value: string } | { ok: false; error: string };

/** The magic variables of one config file (single characters → text). */
export type MagicTable = ReadonlyMap<string, string>;

/** uWSGI's djb33x over the bytes (C `char` is signed on x86: bytes ≥ 0x80 XOR as negatives). */
export function djb33x(bytes: Uint8Array): number {
  let h = 5381;
  for (const b of bytes) h = (((h << 5) + h) ^ (b >= 0x80 ? b - 256 : b)) >>> 0;
  return h;
}

/** %j: the hash's 4 bytes in memory order (little-endian), upper-case hex. */
function hashHex(path: string): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(djb33x(Buffer.from(path)));
  return b.toString('hex').toUpperCase();
}

let processMagic: Map<string, string> | undefined;

/** The variables that depend on the process only (computed once, at first use). */
function processTable(): Map<string, string> {
  if (processMagic) return processMagic;
  const m = new Map<string, string>();
  m.set('v', process.cwd());
  m.set('h', hostname());
  const nowMs = Date.now();
  m.set('t', String(Math.floor(nowMs / 1000)));
  m.set('T', String(nowMs * 1000));
  m.set('k', String(cpus().length));
  m.set('[', '\x1b');
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  m.set('u', String(uid));
  m.set('U', currentUserName());
  m.set('g', String(gid));
  m.set('G', groupNameOf(gid) ?? String(gid));
  processMagic = m;
  return m;
}

/**
 * The magic table of an ini file: `given` as written (%o), `path` absolute, `section` only when
 * given explicitly (%x), `first` = the first config file's table (for the upper-case letters).
 */
export function magicTableFor(
  given: string,
  path: string,
  section: string | undefined,
  first?: MagicTable,
): MagicTable {
  const m = new Map(processTable());
  const dir = `${dirname(path)}${dirname(path).endsWith(sep) ? '' : sep}`;
  const s = basename(path);
  const dot = s.lastIndexOf('.');
  m.set('o', given);
  m.set('p', path);
  m.set('s', s);
  m.set('d', dir);
  m.set('e', dot > 0 ? s.slice(dot + 1) : '');
  m.set('n', dot > 0 ? s.slice(0, dot) : s);
  m.set('c', basename(dirname(path)));
  m.set('x', section ?? '');
  m.set('j', hashHex(path));
  try {
    m.set('i', String(lstatSync(path).ino));
  } catch {
    m.set('i', '');
  }
  const parts = dir.split(sep).filter((p) => p !== '');
  for (let i = 0; i < 10; i++) m.set(String(i), parts[i] ?? '');
  const upper = first ?? m;
  for (const c of 'ODSPCENXIJ') m.set(c, upper.get(c.toLowerCase()) ?? '');
  return m;
}

const REFUSED_MAGIC: Record<string, string> = {
  V: 'the uWSGI version',
  b: "the uWSGI binary's path",
};

/** Replace the `%X` magic variables of an ini line (key or value). */
export function expandMagic(text: string, table: MagicTable): Expanded {
  if (!text.includes('%')) return { ok: true, value: text };
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const c = text[i + 1];
    i++;
    if (c === undefined)
      return { ok: false, error: 'a lone "%" ends the line (write %% for a percent sign)' };
    if (c === '%') out += '%';
    else if (c === '(') out += '%(';
    else if (REFUSED_MAGIC[c]) {
      return {
        ok: false,
        error: `the magic variable %${c} (${REFUSED_MAGIC[c]}) means nothing for uwrouter`,
      };
    } else {
      const v = table.get(c);
      if (v === undefined) {
        return {
          ok: false,
          error: `"%${c}" is not a uWSGI magic variable (uWSGI would silently drop it; write %% for a percent sign)`,
        };
      }
      out += v;
    }
  }
  return { ok: true, value: out };
}

/**
 * Replace every `SYMBOL(NAME)` in `text` (nested parentheses kept inside NAME, as uWSGI
 * counts them) with `lookup(NAME)`; an error string from lookup stops the expansion.
 */
export function replaceTags(
  text: string,
  symbol: '$' | '@' | '%',
  lookup: (name: string) => Expanded,
): Expanded {
  const open = `${symbol}(`;
  if (!text.includes(open)) return { ok: true, value: text };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf(open, i);
    if (at === -1) break;
    let depth = 0;
    let end = -1;
    for (let j = at + 2; j < text.length; j++) {
      if (text[j] === '(') depth++;
      else if (text[j] === ')') {
        if (depth === 0) {
          end = j;
          break;
        }
        depth--;
      }
    }
    if (end === -1) break; // no closing parenthesis: left as written, as uWSGI does
    out += text.slice(i, at);
    const name = text.slice(at + 2, end);
    if (name === '') {
      out += `${open})`;
    } else {
      const r = lookup(name);
      if (!r.ok) return r;
      out += r.value;
    }
    i = end + 1;
  }
  return { ok: true, value: out + text.slice(i) };
}

/** `$(NAME)`: the environment variable NAME, which must be set. */
export function expandEnvironment(text: string, env: Record<string, string | undefined>): Expanded {
  return replaceTags(text, '$', (name) => {
    const v = env[name];
    if (v === undefined)
      return { ok: false, error: `environment variable ${name} (in "$(${name})") is not set` };
    return { ok: true, value: v };
  });
}

/** `@(FILE)`: the file's content without one trailing newline (uwsgi_at_file_read). */
export function expandFiles(text: string, read: (path: string) => string): Expanded {
  return replaceTags(text, '@', (path) => {
    let content: string;
    try {
      content = read(path);
    } catch (err) {
      const reason = err instanceof Error && 'code' in err ? String(err.code) : String(err);
      return { ok: false, error: `cannot read "${path}" for "@(${path})": ${reason}` };
    }
    const last = content.at(-1);
    return { ok: true, value: last === '\n' || last === '\r' ? content.slice(0, -1) : content };
  });
}
