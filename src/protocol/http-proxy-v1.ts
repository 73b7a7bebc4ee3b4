/**
 * PROXY protocol v1 line (`PROXY TCP4 src dst srcport dstport`), the optional prefix of
 * `http-enable-proxy-protocol` (spec: http-router.md §1). v2 (binary) is not supported,
 * as in uWSGI. No `node:net` here (protocol/ does no I/O): addresses are checked by shape.
 */

export interface ProxyV1 {
  readonly protocol: 'TCP4' | 'TCP6' | 'UNKNOWN';
  /** empty for UNKNOWN */
  readonly srcAddress: string;
  readonly dstAddress: string;
  readonly srcPort: number;
  readonly dstPort: number;
}

/** the v1 line is at most 107 bytes including CR LF (PROXY protocol spec §2.1) */
export const PROXY_V1_MAX_LINE = 107;

function isIPv4(s: string): boolean {
  let parts = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || n > 255) return false;
      parts++;
      digits = 0;
      n = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return false;
      n = n * 10 + (c - 48);
    } else return false;
  }
  return parts === 4;
}

function isIPv6Shape(s: string): boolean {
  if (s.length < 2 || s.length > 45 || !s.includes(':')) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const hex = (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
    if (!hex && c !== 58 && c !== 46) return false;
  }
  return true;
}

function port(s: string): number {
  if (s.length === 0 || s.length > 5) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n <= 65535 ? n : -1;
}

/** Parses `buf[start, end)` (the line without CR LF); null when malformed. */
export function parseProxyV1(buf: Buffer, start: number, end: number): ProxyV1 | null {
  if (end - start + 2 > PROXY_V1_MAX_LINE) return null;
  const parts = buf.toString('latin1', start, end).split(' ');
  if (parts[0] !== 'PROXY') return null;
  if (parts[1] === 'UNKNOWN') {
    return { protocol: 'UNKNOWN', srcAddress: '', dstAddress: '', srcPort: 0, dstPort: 0 };
  }
  if (parts.length !== 6) return null;
  const proto = parts[1];
  if (proto !== 'TCP4' && proto !== 'TCP6') return null;
  const check = proto === 'TCP4' ? isIPv4 : isIPv6Shape;
  if (!check(parts[2]) || !check(parts[3])) return null;
  const sp = port(parts[4]);
  const dp = port(parts[5]);
  if (sp < 0 || dp < 0) return null;
  return {
    protocol: proto,
    srcAddress: parts[2],
    dstAddress: parts[3],
    srcPort: sp,
    dstPort: dp,
  };
}
