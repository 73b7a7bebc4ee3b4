/**
 * Key → address mappers built from strings (`X-use-pattern`, `X-use-base`) and the choice
 * of the one active mapper (spec: corerouter.md §3).
 */
import { parseBackendAddress } from './address.ts';
import type { BackendAddress, ClientInfo, KeyMapper, MapperKind, NodeLease } from './types.ts';

/** spec: corerouter.md §3 — `%s` → key, `%%` → `%`, `%(` kept, any other `%X` pair deleted. */
export function expandPattern(pattern: string, key: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c !== '%' || i + 1 >= pattern.length) {
      out += c;
      continue;
    }
    const n = pattern[++i];
    if (n === 's') out += key;
    else if (n === '%') out += '%';
    else if (n === '(') out += '%(';
  }
  return out;
}

const NO_OP_LEASE_METHODS = {
  connected(): void {},
  failed(): void {},
  release(): void {},
};

function lease(address: BackendAddress, modifier1 = 0): NodeLease {
  return { address, modifier1, modifier2: 0, ...NO_OP_LEASE_METHODS };
}

/**
 * Maps a key through a string function. Parsed addresses are cached (bounded) so a busy
 * key costs no parsing per request.
 */
class StringMapper implements KeyMapper {
  readonly kind: MapperKind;
  private readonly build: (key: string) => string;
  private readonly cache = new Map<string, BackendAddress | null>();
  private static readonly MAX_CACHED = 10_000;

  constructor(kind: MapperKind, build: (key: string) => string) {
    this.kind = kind;
    this.build = build;
  }

  pick(key: string, _client: ClientInfo): NodeLease | null {
    const addr = this.address(key);
    return addr ? lease(addr) : null;
  }

  /** a key whose built string is no valid address was never routable */
  knows(key: string): boolean {
    return this.address(key) !== null;
  }

  private address(key: string): BackendAddress | null {
    let addr = this.cache.get(key);
    if (addr === undefined) {
      const r = parseBackendAddress(this.build(key));
      addr = r.ok ? r.value : null;
      if (this.cache.size >= StringMapper.MAX_CACHED) this.cache.clear();
      this.cache.set(key, addr);
    }
    return addr;
  }
}

export function patternMapper(pattern: string): KeyMapper {
  return new StringMapper('pattern', (key) => expandPattern(pattern, key));
}

/** spec: base string + key, verbatim (no separator added) */
export function baseMapper(base: string): KeyMapper {
  return new StringMapper('base', (key) => base + key);
}

/** What the cache mapper needs from a cache (src/cache implements it; corerouter does not import it). */
export interface RouteCacheLookup {
  /** the item of `key` and its hit count before this lookup (the lookup counts as a hit) */
  lookupRoute(key: string): { value: Buffer; hits: number } | undefined;
  /** is there an item for `key`? (not counted) */
  has(key: string): boolean;
}

/** One `ADDR[,MOD1]` element of a cache item; null = not a usable address. */
type RouteElement = { address: BackendAddress; modifier1: number } | null;

const MODIFIER = /^\d{1,3}$/;

/** spec: corerouter.md §3 — `ADDR[,MOD1]`, the modifier1 suffix on the chosen element. */
function parseRouteElement(text: string): RouteElement {
  const comma = text.indexOf(',');
  let modifier1 = 0;
  let addressText = text;
  if (comma >= 0) {
    const m = text.slice(comma + 1);
    if (!MODIFIER.test(m) || Number(m) > 255) return null;
    modifier1 = Number(m);
    addressText = text.slice(0, comma);
  }
  const r = parseBackendAddress(addressText);
  return r.ok ? { address: r.value, modifier1 } : null;
}

/**
 * `X-use-cache`: the key's cache item names its node, `ADDR[,MOD1]`, or several as
 * `A1|A2|…`, taken in turn by the item's hit count before this lookup (the first request
 * gets A1); a missing item maps to no node (spec: corerouter.md §3, uWSGI cr_map.c). Parsed
 * items are kept (bounded) by their text, so a busy route costs no parsing per request.
 */
class CacheMapper implements KeyMapper {
  readonly kind: MapperKind = 'cache';
  private readonly cache: RouteCacheLookup;
  private readonly parsed = new Map<string, RouteElement[]>();
  private static readonly MAX_PARSED = 10_000;

  constructor(cache: RouteCacheLookup) {
    this.cache = cache;
  }

  pick(key: string, _client: ClientInfo): NodeLease | null {
    const item = this.cache.lookupRoute(key);
    if (item === undefined) return null;
    const elements = this.elements(item.value);
    const chosen = elements[item.hits % elements.length];
    return chosen ? lease(chosen.address, chosen.modifier1) : null;
  }

  knows(key: string): boolean {
    return this.cache.has(key);
  }

  private elements(value: Buffer): RouteElement[] {
    const text = value.toString('latin1');
    let e = this.parsed.get(text);
    if (e === undefined) {
      e = text.split('|').map(parseRouteElement);
      if (this.parsed.size >= CacheMapper.MAX_PARSED) this.parsed.clear();
      this.parsed.set(text, e);
    }
    return e;
  }
}

export function cacheMapper(cache: RouteCacheLookup): KeyMapper {
  return new CacheMapper(cache);
}

/** Which configured sources exist for a router, in the form the chain needs. */
export interface MapperCandidates {
  cache?: () => KeyMapper;
  pattern?: () => KeyMapper;
  subscription?: () => KeyMapper;
  base?: () => KeyMapper;
  codeString?: () => KeyMapper;
  socket?: () => KeyMapper;
  static?: () => KeyMapper;
}

/** spec: corerouter.md §3 — the first configured in this order is the one mapper. */
export const MAPPER_PRIORITY = [
  'cache',
  'pattern',
  'subscription',
  'base',
  'codeString',
  'socket',
  'static',
] as const;

export function chooseMapper(c: MapperCandidates): { mapper: KeyMapper | null; ignored: string[] } {
  let mapper: KeyMapper | null = null;
  const ignored: string[] = [];
  for (const name of MAPPER_PRIORITY) {
    const make = c[name];
    if (!make) continue;
    if (mapper === null) mapper = make();
    else ignored.push(name);
  }
  return { mapper, ignored };
}
