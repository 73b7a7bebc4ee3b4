/**
 * IPv4/IPv6 addresses between text and bytes: what the PROXY protocol v2 carries (binary
 * addresses in network order) and what allow-lists compare. Pure (no `node:net`), strict
 * (dotted quads without leading zeros, exactly 128 bits for IPv6), never throws: a bad
 * text gives `false`/null.
 */

/** Writes the 4 bytes of a dotted quad at `out[at]`; false (out untouched or partly) when bad. */
export function writeIPv4(text: string, out: Uint8Array, at: number, start = 0, end = text.length): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || value > 255 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // no leading zeros: "010" could be read as octal (PROXY protocol spec §2.1)
      if (digits === 1 && value === 0) return false;
      if (++digits > 3) return false;
      value = value * 10 + (c - 48);
    } else return false;
  }
  return part === 4;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Writes the 16 bytes of an IPv6 address (`::` compression, a dotted IPv4 tail, an optional
 * `%zone` which is dropped) at `out[at]`; false when bad.
 */
export function writeIPv6(text: string, out: Uint8Array, at: number): boolean {
  let end = text.indexOf('%');
  if (end < 0) end = text.length;
  if (end < 2) return false;
  const groups = new Uint16Array(8);
  let n = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === end) {
      out.fill(0, at, at + 16);
      return true;
    }
  }
  while (i < end) {
    if (n === 8) return false;
    // a group: 1-4 hex digits, or a dotted IPv4 tail taking two groups
    let v = 0;
    let digits = 0;
    let j = i;
    for (; j < end && digits <= 4; j++) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      digits++;
    }
    if (j < end && text.charCodeAt(j) === 46) {
      if (n > 6) return false;
      const v4 = new Uint8Array(4);
      if (!writeIPv4(text, v4, 0, i, end)) return false;
      groups[n++] = (v4[0] << 8) | v4[1];
      groups[n++] = (v4[2] << 8) | v4[3];
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[n++] = v;
    i = j;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === end) return false;
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const zeros = 8 - n;
  for (let g = 0, k = 0; g < 8; g++) {
    const value = gap >= 0 && g >= gap && g < gap + zeros ? 0 : groups[k++];
    out[at + 2 * g] = value >> 8;
    out[at + 2 * g + 1] = value & 0xff;
  }
  return true;
}

/** 4 bytes for IPv4 text, 16 for IPv6 text, else null. */
export function parseIP(text: string): Uint8Array | null {
  const v4 = new Uint8Array(4);
  if (writeIPv4(text, v4, 0)) return v4;
  const v6 = new Uint8Array(16);
  return writeIPv6(text, v6, 0) ? v6 : null;
}

/** `::ffff:a.b.c.d`: how a dual-stack listener reports an IPv4 client. */
export function isIPv4Mapped(b: Uint8Array, at = 0): boolean {
  for (let i = 0; i < 10; i++) if (b[at + i] !== 0) return false;
  return b[at + 10] === 0xff && b[at + 11] === 0xff;
}

export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * RFC 5952 text: lower-case hex without leading zeros, the longest run of two or more zero
 * groups (the first on a tie) as `::`; IPv4-mapped addresses end in a dotted quad unless
 * `dottedMapped` is false (the PROXY v1 line allows hex groups only).
 */
export function formatIPv6(b: Uint8Array, at = 0, dottedMapped = true): string {
  if (dottedMapped && isIPv4Mapped(b, at)) return `::ffff:${formatIPv4(b, at + 12)}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let g = 0; g < 8; ) {
    if (b[at + 2 * g] === 0 && b[at + 2 * g + 1] === 0) {
      let e = g;
      while (e < 8 && b[at + 2 * e] === 0 && b[at + 2 * e + 1] === 0) e++;
      if (e - g > bestLen) {
        bestStart = g;
        bestLen = e - g;
      }
      g = e;
    } else g++;
  }
  let s = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += '::';
      g += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += ((b[at + 2 * g] << 8) | b[at + 2 * g + 1]).toString(16);
  }
  return s;
}
