/**
 * A small IPv4/IPv6 CIDR matcher for the trusted-proxy list that decides whether incoming
 * X-Forwarded-* headers are kept (forward-head.ts). IPv4-mapped IPv6 peers
 * (`::ffff:10.0.0.1`, how a dual-stack listener reports IPv4 clients) match IPv4 entries.
 * No `node:net`: parsing is done here, on the hot path only `has()` runs.
 */

interface Range {
  /** 4 words (IPv6) or 1 word (IPv4), unsigned 32-bit */
  words: Uint32Array;
  bits: number;
}

function parseIPv4(s: string): number {
  let n = 0;
  let parts = 0;
  let cur = -1;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (cur < 0 || cur > 255 || ++parts > 4) return -1;
      n = n * 256 + cur;
      cur = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return -1;
      cur = Math.max(cur, 0) * 10 + (c - 48);
    } else return -1;
  }
  return parts === 4 ? n >>> 0 : -1;
}

/** 8 groups of 16 bits → 4 words, or null */
function parseIPv6(input: string): Uint32Array | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const groups: number[] = [];
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return null;
  const parseSide = (side: string, out: number[]): boolean => {
    if (side === '') return true;
    const parts = side.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (v4 < 0) return false;
        out.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
      out.push(Number.parseInt(p, 16));
    }
    return true;
  };
  if (dbl >= 0) {
    const head: number[] = [];
    const tail: number[] = [];
    if (!parseSide(s.slice(0, dbl), head) || !parseSide(s.slice(dbl + 2), tail)) return null;
    if (head.length + tail.length > 7) return null;
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else if (!parseSide(s, groups) || groups.length !== 8) return null;
  if (groups.length !== 8) return null;
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return w;
}

/** an address as words: IPv4 (and IPv4-mapped IPv6) → 1 word, IPv6 → 4 words */
function addressWords(address: string): Uint32Array | null {
  const v4 = parseIPv4(address);
  if (v4 >= 0) return Uint32Array.of(v4);
  const v6 = parseIPv6(address);
  if (!v6) return null;
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) return Uint32Array.of(v6[3]);
  return v6;
}

function matches(r: Range, w: Uint32Array): boolean {
  if (r.words.length !== w.length) return false;
  let bits = r.bits;
  for (let i = 0; i < w.length && bits > 0; i++) {
    const take = Math.min(32, bits);
    const mask = take === 32 ? 0xffffffff : ~(0xffffffff >>> take) >>> 0;
    if (((r.words[i] ^ w[i]) & mask) >>> 0 !== 0) return false;
    bits -= take;
  }
  return true;
}

export type TrustedProxiesResult = { ok: true; value: TrustedProxies } | { ok: false; entry: string };

export class TrustedProxies {
  private readonly ranges: Range[];

  private constructor(ranges: Range[]) {
    this.ranges = ranges;
  }

  /** `10.0.0.0/8`, `192.168.1.7`, `::1`, `fd00::/8`, …; the first bad entry is reported */
  static parse(list: readonly string[]): TrustedProxiesResult {
    const ranges: Range[] = [];
    for (const entry of list) {
      const slash = entry.indexOf('/');
      const addr = slash < 0 ? entry : entry.slice(0, slash);
      const words = addressWords(addr.trim());
      if (!words) return { ok: false, entry };
      const max = words.length * 32;
      let bits = max;
      if (slash >= 0) {
        const t = entry.slice(slash + 1).trim();
        if (!/^[0-9]{1,3}$/.test(t)) return { ok: false, entry };
        bits = Number(t);
        // a /N on an IPv4-mapped entry counts the IPv6 prefix
        if (words.length === 1 && addr.includes(':')) bits -= 96;
        if (bits < 0 || bits > max) return { ok: false, entry };
      }
      ranges.push({ words, bits });
    }
    return { ok: true, value: new TrustedProxies(ranges) };
  }

  get size(): number {
    return this.ranges.length;
  }

  has(address: string): boolean {
    if (this.ranges.length === 0) return false;
    const w = addressWords(address);
    if (!w) return false;
    for (const r of this.ranges) if (matches(r, w)) return true;
    return false;
  }
}
