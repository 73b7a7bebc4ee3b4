/**
 * What Linux tells about UDP sockets: `net.core.rmem_max` (the cap on a receive buffer an
 * unprivileged setsockopt may ask for) and the per-socket `drops` column of
 * /proc/net/udp{,6} (datagrams discarded because the receive buffer was full).
 * Everything returns undefined where /proc is not there.
 */
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { endianness } from 'node:os';

export function readRmemMax(): number | undefined {
  try {
    const n = Number(readFileSync('/proc/sys/net/core/rmem_max', 'latin1').trim());
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * /proc prints each 32-bit word of an address as the host-order integer of its network-order
 * bytes: on little-endian machines 127.0.0.1 is `0100007F`. Returns the bytes in network order.
 */
function procAddressBytes(hex: string): Buffer {
  const b = Buffer.from(hex, 'hex');
  if (endianness() === 'LE') for (let i = 0; i + 4 <= b.length; i += 4) b.subarray(i, i + 4).reverse();
  return b;
}

function ipBytes(ip: string): Buffer | undefined {
  if (isIPv6(ip)) {
    const halves = ip.split('::');
    const words = (s: string) => (s === '' ? [] : s.split(':'));
    const head = words(halves[0]);
    const tail = halves.length > 1 ? words(halves[1]) : [];
    const all = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
    if (all.length !== 8 || all.some((w) => w.includes('.'))) return undefined;
    const out = Buffer.alloc(16);
    for (let i = 0; i < 8; i++) out.writeUInt16BE(Number.parseInt(all[i], 16), i * 2);
    return out;
  }
  const parts = ip.split('.').map(Number);
  return parts.length === 4 ? Buffer.from(parts) : undefined;
}

/** Sum of the `drops` column over the bound sockets given (address + port as bound). */
export function kernelDrops(bound: ReadonlyArray<{ address: string; port: number }>): number | undefined {
  if (bound.length === 0) return undefined;
  const tables: string[] = [];
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      tables.push(readFileSync(f, 'latin1'));
    } catch {
      // no IPv6, or not Linux
    }
  }
  if (tables.length === 0) return undefined;
  const wanted = bound.map((b) => ({ ip: ipBytes(b.address), port: b.port }));
  let total = 0;
  for (const table of tables) {
    for (const line of table.split('\n')) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
      const cols = line.trim().split(/\s+/);
      if (cols.length < 13 || !cols[0].endsWith(':')) continue;
      const [addrHex, portHex] = cols[1].split(':');
      const port = Number.parseInt(portHex, 16);
      if (!wanted.some((w) => w.port === port)) continue;
      const ip = procAddressBytes(addrHex);
      if (wanted.some((w) => w.port === port && w.ip?.equals(ip))) total += Number(cols[12]) || 0;
    }
  }
  return total;
}
