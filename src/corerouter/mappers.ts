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

function lease(address: BackendAddress): NodeLease {
  return { address, modifier1: 0, modifier2: 0, ...NO_OP_LEASE_METHODS };
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
