/**
 * An allow-list of peer addresses (`10.0.0.0/8`, `192.168.1.7`, `::1`, `fd00::/8`): which
 * peers may send a PROXY protocol header (proxy-intake.ts). IPv4-mapped IPv6 peers
 * (`::ffff:10.0.0.1`, how a dual-stack listener reports IPv4 clients) match IPv4 entries.
 * Parsing is done once at start-up; `has()` parses the peer's address text and compares
 * prefixes, no allocation but the address bytes.
 */
import { isIPv4Mapped, parseIP } from '../protocol/ip-address.ts';

interface Range {
  /** 4 or 16 bytes */
  bytes: Uint8Array;
  bits: number;
}

export type TrustedPeersResult = { ok: true; value: TrustedPeers } | { ok: false; entry: string };

/** an IPv4-mapped address as its 4 IPv4 bytes; other addresses unchanged */
function unmapped(b: Uint8Array): Uint8Array {
  return b.length === 16 && isIPv4Mapped(b) ? b.subarray(12) : b;
}

function inRange(r: Range, b: Uint8Array): boolean {
  if (r.bytes.length !== b.length) return false;
  const whole = r.bits >> 3;
  for (let i = 0; i < whole; i++) if (r.bytes[i] !== b[i]) return false;
  const left = r.bits & 7;
  if (left === 0) return true;
  const mask = (0xff << (8 - left)) & 0xff;
  return (r.bytes[whole] & mask) === (b[whole] & mask);
}

export class TrustedPeers {
  private readonly ranges: readonly Range[];

  private constructor(ranges: Range[]) {
    this.ranges = ranges;
  }

  /** The first entry that is not an address or an `address/bits` range is reported. */
  static parse(list: readonly string[]): TrustedPeersResult {
    const ranges: Range[] = [];
    for (const entry of list) {
      const slash = entry.indexOf('/');
      const text = (slash < 0 ? entry : entry.slice(0, slash)).trim();
      const raw = parseIP(text);
      if (raw === null) return { ok: false, entry };
      const bytes = unmapped(raw);
      let bits = bytes.length * 8;
      if (slash >= 0) {
        const t = entry.slice(slash + 1).trim();
        if (!/^[0-9]{1,3}$/.test(t)) return { ok: false, entry };
        // a /N on an IPv4-mapped entry counts the IPv6 prefix
        bits = Number(t) - (bytes.length !== raw.length ? 96 : 0);
        if (bits < 0 || bits > bytes.length * 8) return { ok: false, entry };
      }
      ranges.push({ bytes, bits });
    }
    return { ok: true, value: new TrustedPeers(ranges) };
  }

  get size(): number {
    return this.ranges.length;
  }

  /** Is this peer (Node's `remoteAddress`; undefined for UNIX sockets) on the list? */
  has(address: string | undefined): boolean {
    if (address === undefined || this.ranges.length === 0) return false;
    const raw = parseIP(address);
    if (raw === null) return false;
    const b = unmapped(raw);
    for (const r of this.ranges) if (inRange(r, b)) return true;
    return false;
  }
}
