/**
 * The typed view of a parsed configuration. Values are stored as the strings given
 * (validated at load time against the option registry); accessors convert.
 */

export type RouterName = 'fastrouter' | 'rawrouter' | 'sslrouter' | 'http';

/**
 * - `flag`: no value, or true/false/1/0/yes/no/on/off (stored "1"/"0")
 * - `int`: decimal integer ≥ 0 (range checked by `min`/`max`)
 * - `optional-int`: like uWSGI's `http-keepalive[=N]`: no value or true → 1, false → 0, N → N
 *   (uWSGI's trap where `true` means 0 is not repeated: uwsgi-docs #445)
 * - `string`: any text (addresses are validated by their users with clear errors)
 */
export type OptionKind = 'flag' | 'int' | 'optional-int' | 'string';

/**
 * What uwrouter does with an option (applied once at start-up by applyOptionStatuses,
 * shown by --help and the README table). `why` is one sentence an operator can act on.
 * - `implemented` (the default): something reads and honours it
 * - `warn`: accepted so uWSGI configs load; one warning line at start when it is set
 * - `refuse`: a start-up error when it is set (running without it would be wrong or unsafe)
 * - `noop`: accepted and harmless without effect (e.g. `master`, `vacuum`)
 * "Set" means given with a value other than its default and other than off (`0`/false).
 */
export type OptionStatus = 'implemented' | { warn: string } | { refuse: string } | { noop: string };

export interface OptionSpec {
  /** canonical name without dashes, e.g. `fastrouter-to` */
  name: string;
  aliases?: string[];
  kind: OptionKind;
  repeatable?: boolean;
  /** default as the user would write it; undefined = unset */
  default?: string;
  min?: number;
  max?: number;
  /** placeholder in --help, e.g. ADDR, N, DIGEST:DIR */
  valueName?: string;
  help: string;
  /** the router (or area) owning the option: fastrouter, http, subscription, global, … */
  group: string;
  /**
   * shorthand for `status: { noop: help }` (older entries); new entries use `status`
   * @deprecated use `status`
   */
  noop?: boolean;
  /** see OptionStatus; undefined = 'implemented' */
  status?: OptionStatus;
  /** a listening address of router `group` (the router runs when one of these is given) */
  listener?: boolean;
  /** the only values a `string` option accepts (checked at load time, case-sensitive) */
  choices?: readonly string[];
  /** words an `int` option accepts besides numbers (stored lower-cased), e.g. `auto` */
  words?: readonly string[];
  /**
   * value stored when the option is given without one (uWSGI's optional arguments, e.g.
   * `X-use-cache` → "" = default cache, `X-use-socket` → "0"); flag and optional-int
   * kinds always imply "1"
   */
  implicit?: string;
}

export class Config {
  private readonly values: ReadonlyMap<string, readonly string[]>;
  private readonly specs: ReadonlyMap<string, OptionSpec>;
  /**
   * Canonical names of every option read through an accessor (has/all/str/int/flag), so a
   * test can prove that each implemented option is read by something (test/config/unread-options).
   */
  readonly readNames = new Set<string>();

  constructor(values: ReadonlyMap<string, readonly string[]>, specs: ReadonlyMap<string, OptionSpec>) {
    this.values = values;
    this.specs = specs;
  }

  private spec(name: string): OptionSpec {
    const s = this.specs.get(name);
    if (!s) throw new Error(`internal: option "${name}" is not in the registry`);
    this.readNames.add(s.name);
    return s;
  }

  /** The registry entry of `name` (canonical or alias), without counting it as read. */
  specOf(name: string): OptionSpec | undefined {
    return this.specs.get(name);
  }

  /**
   * Is `name` an option (or alias) of the registry? For code that builds names from a
   * router prefix where not every router has the option (e.g. `X-resubscribe` exists for
   * fastrouter and http only); the other accessors throw on unknown names.
   */
  isKnown(name: string): boolean {
    return this.specs.has(name);
  }

  /** Was the option given (argv, ini or environment)? Aliases work too. */
  has(name: string): boolean {
    return (this.values.get(this.spec(name).name)?.length ?? 0) > 0;
  }

  /** Every value of the option in the order given; [] when absent. */
  all(name: string): readonly string[] {
    return this.values.get(this.spec(name).name) ?? [];
  }

  /** The last value given, else the registry default, else undefined. */
  str(name: string): string | undefined {
    const s = this.spec(name);
    // values are stored under the canonical name; `name` may be an alias
    const v = this.values.get(s.name);
    return v && v.length > 0 ? v[v.length - 1] : s.default;
  }

  /** Integer value (int/optional-int/flag kinds), the default if absent, 0 if no default. */
  int(name: string): number {
    const v = this.str(name);
    if (v === undefined || v === '') return 0;
    const n = Number(v);
    return Number.isFinite(n) ? n : 0;
  }

  /** True when a flag is on (or an optional-int is > 0). */
  flag(name: string): boolean {
    return this.int(name) > 0;
  }

  /** Names of every option given explicitly, in registry order. */
  given(): string[] {
    return [...this.values.keys()].filter((k) => (this.values.get(k)?.length ?? 0) > 0);
  }

  /** The values given for `name` without counting it as read (status checks, stats dumps). */
  peek(name: string): readonly string[] {
    const s = this.specs.get(name);
    return s ? (this.values.get(s.name) ?? []) : [];
  }
}
