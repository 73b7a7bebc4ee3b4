/**
 * Builds a Config from the environment (`UWSGI_*`), the command line and the ini files it
 * names, the way uWSGI combines them: environment first, then argv left to right with each
 * `--ini` expanded in place; the last value of a single-valued option wins, repeatable
 * options keep every value in that order. Every bad name or value is a ConfigError naming
 * the option, the value and, for ini files, `file:line`.
 */

import { ConfigError } from '../errors.ts';
import { Config, type OptionSpec } from './config.ts';
import {
  DEFAULT_INI_SECTION,
  type IniEntry,
  looksLikeIniArgument,
  readIniFile,
  splitIniArgument,
} from './ini.ts';
import { displayName, isIntegerText, normalizeOptionValue, parseBooleanWord } from './option-value.ts';
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
  /** directory relative ini paths are resolved against (default: process.cwd()) */
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
  return `unknown option "${shown}"; run with --help for the list of options`;
}

function withOrigin(origin: string | undefined, message: string): string {
  return origin ? `${origin}: ${message}` : message;
}

/** Accumulates values in the order they are given. */
class ValueCollector {
  readonly values = new Map<string, string[]>();
  readonly sources: string[] = [];
  private readonly cwd: string;
  private iniDepth = 0;

  constructor(cwd: string) {
    this.cwd = cwd;
  }

  /** Apply one option occurrence; `typed` is the name as written (maybe an alias). */
  apply(typed: string, raw: string | undefined, origin: string | undefined): void {
    const spec = findOption(typed);
    if (!spec) throw new ConfigError(withOrigin(origin, unknownOptionMessage(typed)));
    const r = normalizeOptionValue(spec, raw);
    if (!r.ok) throw new ConfigError(withOrigin(origin, r.error));
    this.store(spec, r.value);
    if (spec.name === 'ini') this.loadIni(r.value, origin);
  }

  private store(spec: OptionSpec, value: string): void {
    const list = this.values.get(spec.name);
    // uWSGI keeps the last value of a single-valued option given twice.
    if (list && spec.repeatable) list.push(value);
    else this.values.set(spec.name, [value]);
  }

  loadIni(arg: string, origin: string | undefined): void {
    if (this.iniDepth >= MAX_INI_DEPTH) {
      throw new ConfigError(
        withOrigin(origin, `ini files include each other more than ${MAX_INI_DEPTH} deep`),
      );
    }
    const { file, section } = splitIniArgument(arg);
    let read: { file: string; entries: IniEntry[] };
    try {
      read = readIniFile(file, section, this.cwd);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(withOrigin(origin, err.message));
      throw err;
    }
    const { file: resolved, entries } = read;
    this.sources.push(section === DEFAULT_INI_SECTION ? resolved : `${resolved}:${section}`);
    this.iniDepth++;
    try {
      for (const e of entries) this.apply(e.key, e.value, `${e.file}:${e.line}`);
    } finally {
      this.iniDepth--;
    }
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

function applyEnvironment(c: ValueCollector, env: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || value === undefined) continue;
    const name = key.slice(ENV_PREFIX.length).toLowerCase().replaceAll('_', '-');
    const spec = findOption(name);
    // uWSGI exports its own UWSGI_* variables (UWSGI_RELOADS, ...): unknown ones are not ours.
    if (!spec || NOT_FROM_ENV.has(spec.name)) continue;
    c.apply(name, value, `environment ${key}`);
  }
}

/** Returns true when -h was seen. */
function applyArgv(c: ValueCollector, argv: readonly string[]): boolean {
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
      if (!spec) throw new ConfigError(unknownOptionMessage(`--${name}`));
      if (eq !== -1) {
        c.apply(name, body.slice(eq + 1), undefined);
      } else if (takesSeparateValue(spec, argv[i + 1])) {
        c.apply(name, argv[i + 1], undefined);
        i++;
      } else {
        c.apply(name, undefined, undefined);
      }
    } else if (!optionsEnded && tok === '-h') {
      shortHelp = true;
    } else if (!optionsEnded && tok.startsWith('-') && tok.length > 1) {
      throw new ConfigError(unknownOptionMessage(tok));
    } else if (looksLikeIniArgument(tok)) {
      // uWSGI: a lone config file argument is loaded as if given with --ini.
      c.apply('ini', tok, undefined);
    } else {
      throw new ConfigError(
        `unexpected argument "${tok}"; options start with "--" and a lone argument must be a FILE.ini[:section]`,
      );
    }
  }
  return shortHelp;
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
 * name. Throws ConfigError on the first bad option or value.
 */
export function loadConfig(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  opts: LoadOptions = {},
): LoadedConfig {
  const c = new ValueCollector(opts.cwd ?? process.cwd());
  applyEnvironment(c, env);
  const shortHelp = applyArgv(c, argv);
  const config = buildConfig(c.values);
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
 * `true` means "given without a value"; names may be aliases.
 */
export function configFromValues(
  values: Readonly<Record<string, string | boolean | readonly string[]>>,
  opts: LoadOptions = {},
): Config {
  const c = new ValueCollector(opts.cwd ?? process.cwd());
  for (const [name, v] of Object.entries(values)) {
    if (v === true) c.apply(name, undefined, undefined);
    else if (v === false) c.apply(name, 'false', undefined);
    else if (typeof v === 'string') c.apply(name, v, undefined);
    else for (const item of v) c.apply(name, item, undefined);
  }
  return buildConfig(c.values);
}
