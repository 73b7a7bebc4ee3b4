/**
 * Builds a Config from the environment (`UWSGI_*`), the command line and the ini files it
 * names, the way uWSGI combines them: environment first, then argv left to right with each
 * `--ini` expanded in place; then `$(ENV)`, `@(FILE)` and `%(placeholder)` expansion over
 * every value (placeholders.ts); the last value of a single-valued option wins, repeatable
 * options keep every value in that order. Every problem (unknown option, bad value, bad
 * expansion) is collected and reported at once in one ConfigError, each line naming the
 * option, the value and, for ini files, `file:line`.
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { Config, type OptionSpec } from './config.ts';
import { CONFIG_LOGIC, configLogicMessage } from './config-logic.ts';
import { expandMagic, type MagicTable, magicTableFor } from './expand.ts';
import {
  DEFAULT_INI_SECTION,
  type IniEntry,
  looksLikeIniArgument,
  readIniFile,
  splitIniArgument,
} from './ini.ts';
import { displayName, isIntegerText, normalizeOptionValue, parseBooleanWord } from './option-value.ts';
import { type CollectedEntry, expandValues } from './placeholders.ts';
import { findOption, OPTION_INDEX, OPTIONS, optionNames } from './registry.ts';
import { nearestName } from './suggest.ts';

export interface LoadedConfig {
  config: Config;
  /** --help, -h (or `help` in an ini file) was given */
  help: boolean;
  /** --version was given */
  version: boolean;
  /** the ini files read, in order: absolute path, plus `:section` when not `uwsgi` */
  sources: string[];
}

export interface LoadOptions {
  /** directory relative ini and `@(FILE)` paths are resolved against (default: process.cwd()) */
  cwd?: string;
}

const ENV_PREFIX = 'UWSGI_';
/** Actions, not settings: a stray UWSGI_VERSION placeholder must not print the version. */
const NOT_FROM_ENV = new Set(['help', 'version']);
/** ini files including ini files: deep enough for real layouts, stops include cycles. */
const MAX_INI_DEPTH = 16;

/** Unknown-option message with a "did you mean" when a close name exists. */
export function unknownOptionMessage(typed: string): string {
  const bare = typed.replace(/^-+/, '');
  const near = nearestName(bare, optionNames());
  const shown = typed.startsWith('-') ? typed : displayName(typed);
  if (near !== undefined) return `unknown option "${shown}"; did you mean "${displayName(near)}"?`;
  return `unknown option "${shown}"`;
}

function withOrigin(origin: string | undefined, message: string): string {
  return origin ? `${origin}: ${message}` : message;
}

/** Does an ini value use `%s` (uWSGI's magic "file name"), not `%%s`? */
function usesBarePercentS(raw: string): boolean {
  for (let i = 0; i < raw.length - 1; i++) {
    if (raw[i] !== '%') continue;
    if (raw[i + 1] === 's') return true;
    i++; // skip the escaped character (`%%`, `%d`, …)
  }
  return false;
}

/** Collects option occurrences in the order they are given, and every problem found. */
class Collector {
  readonly entries: CollectedEntry[] = [];
  readonly errors: string[] = [];
  readonly sources: string[] = [];
  readonly cwd: string;
  private iniDepth = 0;
  private firstMagic: MagicTable | undefined;

  constructor(cwd: string) {
    this.cwd = cwd;
  }

  /** Apply one option occurrence; `typed` is the name as written (maybe an alias). */
  add(typed: string, raw: string | undefined, origin: string | undefined, fromIni = false): void {
    if (CONFIG_LOGIC.has(typed)) {
      this.errors.push(withOrigin(origin, configLogicMessage(typed)));
      return;
    }
    const spec = findOption(typed);
    if (!spec) {
      if (fromIni) this.entries.push({ typed, spec, raw, origin, unknownIniKey: true });
      else this.errors.push(withOrigin(origin, unknownOptionMessage(typed)));
      return;
    }
    if (spec.name === 'ini') {
      this.entries.push({ typed, spec, raw, origin, consumed: true });
      if (raw === undefined || raw === '')
        this.errors.push(withOrigin(origin, 'option "--ini": needs a value (FILE)'));
      else this.loadIni(raw, origin);
      return;
    }
    if (spec.name === 'set') {
      this.entries.push({ typed, spec, raw, origin, consumed: true });
      const eq = raw?.indexOf('=') ?? -1;
      if (raw === undefined || eq <= 0) {
        this.errors.push(withOrigin(origin, `option "--${typed}": "${raw ?? ''}" is not NAME=VALUE`));
        return;
      }
      const name = raw.slice(0, eq);
      // uWSGI: --set NAME=VALUE sets the option NAME when there is one; set-placeholder never does
      const target = typed === 'set' ? findOption(name) : undefined;
      if (target?.name === 'ini' || target?.name === 'set') {
        this.errors.push(withOrigin(origin, `option "--${typed}": use --${target.name} directly`));
        return;
      }
      this.entries.push({
        typed: name,
        spec: target,
        raw: raw.slice(eq + 1),
        origin,
        placeholderOnly: !target,
      });
      return;
    }
    this.entries.push({ typed, spec, raw, origin });
  }

  loadIni(arg: string, origin: string | undefined): void {
    if (this.iniDepth >= MAX_INI_DEPTH) {
      this.errors.push(withOrigin(origin, `ini files include each other more than ${MAX_INI_DEPTH} deep`));
      return;
    }
    const { file, section } = splitIniArgument(arg);
    let read: { file: string; entries: IniEntry[] };
    try {
      read = readIniFile(file, section, this.cwd);
    } catch (err) {
      if (err instanceof ConfigError) {
        this.errors.push(withOrigin(origin, err.message));
        return;
      }
      throw err;
    }
    const { file: resolved, entries } = read;
    this.sources.push(section === DEFAULT_INI_SECTION ? resolved : `${resolved}:${section}`);
    const explicitSection = arg.length > file.length + 1 ? section : undefined;
    const magic = magicTableFor(file, resolved, explicitSection, this.firstMagic);
    this.firstMagic ??= magic;
    this.iniDepth++;
    try {
      for (const e of entries) this.addIniEntry(e, magic);
    } finally {
      this.iniDepth--;
    }
  }

  private addIniEntry(e: IniEntry, magic: MagicTable): void {
    const at = `${e.file}:${e.line}`;
    const key = expandMagic(e.key, magic);
    const value = e.value === undefined ? undefined : expandMagic(e.value, magic);
    if (!key.ok || (value !== undefined && !value.ok)) {
      const bad = !key.ok ? key : (value as { ok: false; error: string });
      this.errors.push(`${at}: ${bad.error}`);
      return;
    }
    if (key.value.endsWith('-use-pattern') && e.value !== undefined && usesBarePercentS(e.value)) {
      // uWSGI replaces it with the ini file's name, leaving a pattern that maps every key to one node
      this.errors.push(
        `${at}: in an ini file "%s" is the magic variable "file name", not the key: write %%s in --${key.value}`,
      );
      return;
    }
    this.add(key.value, value?.value, at, true);
  }
}

/**
 * Whether `--name` (written without `=`) takes the next argv token as its value.
 * Flags and optional values take it only when it is unmistakably a value, so
 * `--http-keepalive --http :80` and `--fastrouter-cheap app.ini` read as intended.
 */
function takesSeparateValue(spec: OptionSpec, next: string | undefined): boolean {
  if (next === undefined) return false;
  switch (spec.kind) {
    case 'flag':
      return parseBooleanWord(next) !== undefined;
    case 'optional-int':
      return isIntegerText(next) || parseBooleanWord(next) !== undefined;
    case 'int':
      if (spec.implicit !== undefined) return isIntegerText(next);
      return !next.startsWith('--');
    case 'string':
      // uWSGI's optional string arguments (X-use-cache) only take a value as `--opt=value`.
      if (spec.implicit !== undefined) return false;
      return !next.startsWith('--');
  }
}

function applyEnvironment(c: Collector, env: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || value === undefined) continue;
    const name = key.slice(ENV_PREFIX.length).toLowerCase().replaceAll('_', '-');
    const spec = findOption(name);
    // uWSGI exports its own UWSGI_* variables (UWSGI_RELOADS, ...): unknown ones are not ours.
    if (!spec || NOT_FROM_ENV.has(spec.name)) continue;
    c.add(name, value, `environment ${key}`);
  }
}

/** Returns true when -h was seen. */
function applyArgv(c: Collector, argv: readonly string[]): boolean {
  let shortHelp = false;
  let optionsEnded = false;
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (!optionsEnded && tok === '--') {
      optionsEnded = true;
    } else if (!optionsEnded && tok.startsWith('--')) {
      const body = tok.slice(2);
      const eq = body.indexOf('=');
      const name = eq === -1 ? body : body.slice(0, eq);
      const spec = findOption(name);
      if (!spec) {
        c.add(name, undefined, undefined);
        // its value, if it had one, is not a positional argument
        if (eq === -1 && argv[i + 1] !== undefined && !argv[i + 1].startsWith('-')) i++;
      } else if (eq !== -1) {
        c.add(name, body.slice(eq + 1), undefined);
      } else if (takesSeparateValue(spec, argv[i + 1])) {
        c.add(name, argv[i + 1], undefined);
        i++;
      } else {
        c.add(name, undefined, undefined);
      }
    } else if (!optionsEnded && tok === '-h') {
      shortHelp = true;
    } else if (!optionsEnded && tok.startsWith('-') && tok.length > 1) {
      c.errors.push(unknownOptionMessage(tok));
      if (!tok.includes('=') && argv[i + 1] !== undefined && !argv[i + 1].startsWith('-')) i++;
    } else if (looksLikeIniArgument(tok)) {
      // uWSGI: a lone config file argument is loaded as if given with --ini.
      c.add('ini', tok, undefined);
    } else {
      c.errors.push(
        `unexpected argument "${tok}"; options start with "--" and a lone argument must be a FILE.ini[:section]`,
      );
    }
  }
  return shortHelp;
}

/** Expand, validate and store what was collected; throws one ConfigError listing every problem. */
function finish(c: Collector, env: Record<string, string | undefined>): Config {
  const { values, referenced, errors } = expandValues(c.entries, env, (p) =>
    readFileSync(resolve(c.cwd, p), 'utf8'),
  );
  const problems = [...c.errors, ...errors];
  const stored = new Map<string, string[]>();
  c.entries.forEach((e, i) => {
    if (e.unknownIniKey) {
      // uWSGI treats every unknown key as a placeholder; here only a referenced one is
      if (!referenced.has(e.typed)) problems.push(withOrigin(e.origin, unknownOptionMessage(e.typed)));
      return;
    }
    if (!e.spec || e.placeholderOnly) return;
    const r = normalizeOptionValue(e.spec, values[i]);
    if (!r.ok) {
      problems.push(e.origin ? `${e.origin}: ${r.error}` : r.error);
      return;
    }
    const list = stored.get(e.spec.name);
    // uWSGI keeps the last value of a single-valued option given twice.
    if (list && e.spec.repeatable) list.push(r.value);
    else stored.set(e.spec.name, [r.value]);
  });
  if (problems.length === 1) throw new ConfigError(problems[0]);
  if (problems.length > 1) {
    throw new ConfigError(`${problems.length} problems in the configuration:\n  ${problems.join('\n  ')}`);
  }
  return buildConfig(stored);
}

/** Build a Config in registry order (Config.given() promises that order). */
function buildConfig(values: ReadonlyMap<string, readonly string[]>): Config {
  const ordered = new Map<string, readonly string[]>();
  for (const spec of OPTIONS) {
    const v = values.get(spec.name);
    if (v) ordered.set(spec.name, v);
  }
  return new Config(ordered, OPTION_INDEX);
}

/**
 * Parse the environment, argv (without the node/script entries) and the ini files they
 * name. Throws one ConfigError listing every bad option, value or expansion.
 */
export function loadConfig(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  opts: LoadOptions = {},
): LoadedConfig {
  const c = new Collector(opts.cwd ?? process.cwd());
  applyEnvironment(c, env);
  const shortHelp = applyArgv(c, argv);
  const config = finish(c, env);
  return {
    config,
    help: shortHelp || config.flag('help'),
    version: config.flag('version'),
    sources: c.sources,
  };
}

/**
 * A Config from plain values, validated like loadConfig (for tests and embedding):
 * `{ 'fastrouter-to': ['127.0.0.1:3031'], 'http-keepalive': true, 'fastrouter-timeout': '5' }`.
 * `true` means "given without a value"; names may be aliases. `$(NAME)` reads `env`.
 */
export function configFromValues(
  values: Readonly<Record<string, string | boolean | readonly string[]>>,
  opts: LoadOptions & { env?: Record<string, string | undefined> } = {},
): Config {
  const c = new Collector(opts.cwd ?? process.cwd());
  for (const [name, v] of Object.entries(values)) {
    if (v === true) c.add(name, undefined, undefined);
    else if (v === false) c.add(name, 'false', undefined);
    else if (typeof v === 'string') c.add(name, v, undefined);
    else for (const item of v) c.add(name, item, undefined);
  }
  return finish(c, opts.env ?? {});
}
