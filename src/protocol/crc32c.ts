/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the PROXY protocol
 * v2 `PP2_TYPE_CRC32C` TLV (PROXY protocol spec §2.2.3, RFC 4960 appendix B). Node's zlib
 * only has the IEEE CRC-32. Incremental so a header can be checked in pieces, with the
 * checksum field counted as zeros, without a copy.
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The running state before any byte. */
export const CRC32C_INIT = 0xffffffff;

/** Feeds `buf[start, end)` into a running state. */
export function crc32cUpdate(state: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = state;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

/** Feeds `count` zero bytes. */
export function crc32cZeros(state: number, count: number): number {
  let c = state;
  for (let i = 0; i < count; i++) c = TABLE[c & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

/** The checksum of a finished running state. */
export function crc32cFinish(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

export function crc32c(buf: Uint8Array): number {
  return crc32cFinish(crc32cUpdate(CRC32C_INIT, buf));
}
